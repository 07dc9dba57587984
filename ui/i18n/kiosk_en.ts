<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>Direction</name>
    <message>
        <source>OUT</source>
        <translation>OUT</translation>
    </message>
    <message>
        <source>IN</source>
        <translation>IN</translation>
    </message>
</context>
<context>
    <name>Hint</name>
    <message>
        <source>Too dark — move into the light</source>
        <translation>Too dark — move into the light</translation>
    </message>
    <message>
        <source>Glare — tilt the code a little</source>
        <translation>Glare — tilt the code a little</translation>
    </message>
    <message>
        <source>Move the code closer</source>
        <translation>Move the code closer</translation>
    </message>
    <message>
        <source>Hold the code still</source>
        <translation>Hold the code still</translation>
    </message>
    <message>
        <source>Hold it there…</source>
        <translation>Hold it there…</translation>
    </message>
</context>
<context>
    <name>Outcome</name>
    <message>
        <source>ACCEPTED</source>
        <translation>ACCEPTED</translation>
    </message>
    <message>
        <source>REFUSED</source>
        <translation>REFUSED</translation>
    </message>
    <message>
        <source>SEE THE GUARD</source>
        <translation>SEE THE GUARD</translation>
    </message>
    <message>
        <source>Already recorded.</source>
        <translation>Already recorded.</translation>
    </message>
    <message>
        <source>Goodbye — your exit is recorded.</source>
        <translation>Goodbye — your exit is recorded.</translation>
    </message>
    <message>
        <source>Welcome — your visit is recorded.</source>
        <translation>Welcome — your visit is recorded.</translation>
    </message>
    <message>
        <source>Please see the guard to be let in.</source>
        <translation>Please see the guard to be let in.</translation>
    </message>
    <message>
        <source>Your code was not accepted.</source>
        <translation>Your code was not accepted.</translation>
    </message>
</context>
<context>
    <name>PinPad</name>
    <message>
        <source>Enter the PIN</source>
        <translation>Enter the PIN</translation>
    </message>
    <message>
        <source>Guard</source>
        <translation>Guard</translation>
    </message>
    <message>
        <source>Admin</source>
        <translation>Admin</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Clear</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Back to scanning</source>
        <translation>Back to scanning</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Checking…</translation>
    </message>
    <message>
        <source>PINs are not available on this kiosk yet.</source>
        <translation>PINs are not available on this kiosk yet.</translation>
    </message>
    <message>
        <source>Too many wrong PINs. Try again in %1 s.</source>
        <translation>Too many wrong PINs. Try again in %1 s.</translation>
    </message>
    <message>
        <source>Wrong PIN.</source>
        <translation>Wrong PIN.</translation>
    </message>
</context>
<context>
    <name>PlaceholderScreen</name>
    <message>
        <source>Guard console</source>
        <extracomment>A PIN pad, guard console or admin screen left alone this long goes back to scanning. role → (module, class) of the screen a right PIN opens. Written by the guard/admin work; may be absent.</extracomment>
        <translation>Guard console</translation>
    </message>
    <message>
        <source>Administration</source>
        <translation>Administration</translation>
    </message>
    <message>
        <source>This screen is not available in this version yet.</source>
        <translation>This screen is not available in this version yet.</translation>
    </message>
    <message>
        <source>Back to scanning</source>
        <translation>Back to scanning</translation>
    </message>
</context>
<context>
    <name>Reason</name>
    <message>
        <source>Your code is valid.</source>
        <translation>Your code is valid.</translation>
    </message>
    <message>
        <source>The code is empty. Please show another code.</source>
        <translation>The code is empty. Please show another code.</translation>
    </message>
    <message>
        <source>This code is too long to be an ID card or a personal code.</source>
        <translation>This code is too long to be an ID card or a personal code.</translation>
    </message>
    <message>
        <source>This code cannot be read as text. Please show your personal code or ID card.</source>
        <translation>This code cannot be read as text. Please show your personal code or ID card.</translation>
    </message>
    <message>
        <source>This code contains hidden characters and cannot be accepted.</source>
        <translation>This code contains hidden characters and cannot be accepted.</translation>
    </message>
    <message>
        <source>The name in this code is not valid.</source>
        <translation>The name in this code is not valid.</translation>
    </message>
    <message>
        <source>This code is damaged or incomplete. Please show it again or use your ID card.</source>
        <translation>This code is damaged or incomplete. Please show it again or use your ID card.</translation>
    </message>
    <message>
        <source>The ID number in this code is not valid.</source>
        <translation>The ID number in this code is not valid.</translation>
    </message>
    <message>
        <source>A date in this code is not valid.</source>
        <translation>A date in this code is not valid.</translation>
    </message>
    <message>
        <source>The details on this card are not valid.</source>
        <translation>The details on this card are not valid.</translation>
    </message>
    <message>
        <source>This is the place&apos;s code — please show your personal code or ID card.</source>
        <translation>This is the place&apos;s code — please show your personal code or ID card.</translation>
    </message>
    <message>
        <source>This is not an ID card or a personal health code.</source>
        <translation>This is not an ID card or a personal health code.</translation>
    </message>
    <message>
        <source>This vaccine certificate is damaged and cannot be read.</source>
        <translation>This vaccine certificate is damaged and cannot be read.</translation>
    </message>
    <message>
        <source>This vaccine certificate comes from an issuer the kiosk does not know.</source>
        <translation>This vaccine certificate comes from an issuer the kiosk does not know.</translation>
    </message>
    <message>
        <source>This vaccine certificate uses a signature the kiosk does not accept.</source>
        <translation>This vaccine certificate uses a signature the kiosk does not accept.</translation>
    </message>
    <message>
        <source>This vaccine certificate&apos;s signature is not valid — it may have been altered.</source>
        <translation>This vaccine certificate&apos;s signature is not valid — it may have been altered.</translation>
    </message>
    <message>
        <source>This vaccine certificate is not valid yet.</source>
        <translation>This vaccine certificate is not valid yet.</translation>
    </message>
    <message>
        <source>This vaccine certificate has expired.</source>
        <translation>This vaccine certificate has expired.</translation>
    </message>
    <message>
        <source>The issuer&apos;s key for this certificate is not valid yet.</source>
        <translation>The issuer&apos;s key for this certificate is not valid yet.</translation>
    </message>
    <message>
        <source>The issuer&apos;s key for this certificate has expired.</source>
        <translation>The issuer&apos;s key for this certificate has expired.</translation>
    </message>
    <message>
        <source>This issuer may not sign this kind of certificate.</source>
        <translation>This issuer may not sign this kind of certificate.</translation>
    </message>
    <message>
        <source>The contents of this vaccine certificate are not valid.</source>
        <translation>The contents of this vaccine certificate are not valid.</translation>
    </message>
    <message>
        <source>You may not enter here. Please see the guard.</source>
        <translation>You may not enter here. Please see the guard.</translation>
    </message>
    <message>
        <source>You are not on this office&apos;s list. Please see the guard.</source>
        <translation>You are not on this office&apos;s list. Please see the guard.</translation>
    </message>
    <message>
        <source>A vaccine or test certificate is required here.</source>
        <translation>A vaccine or test certificate is required here.</translation>
    </message>
    <message>
        <source>You were recorded a moment ago — no need to scan again.</source>
        <translation>You were recorded a moment ago — no need to scan again.</translation>
    </message>
    <message>
        <source>Your visit could not be recorded. Please see the guard.</source>
        <translation>Your visit could not be recorded. Please see the guard.</translation>
    </message>
    <message>
        <source>Entered by hand by the guard.</source>
        <translation>Entered by hand by the guard.</translation>
    </message>
    <message>
        <source>Let in by the guard.</source>
        <translation>Let in by the guard.</translation>
    </message>
    <message>
        <source>This kiosk is out of service. Please see the guard.</source>
        <translation>This kiosk is out of service. Please see the guard.</translation>
    </message>
</context>
<context>
    <name>ScanScreen</name>
    <message>
        <source>Show your QR code or chip ID card to the camera</source>
        <translation>Show your QR code or chip ID card to the camera</translation>
    </message>
    <message>
        <source>This place&apos;s code</source>
        <translation>This place&apos;s code</translation>
    </message>
    <message>
        <source>Help: hotline %1 · report a problem in the Hue-S app</source>
        <translation>Help: hotline %1 · report a problem in the Hue-S app</translation>
    </message>
    <message>
        <source>Starting the camera…</source>
        <translation>Starting the camera…</translation>
    </message>
    <message>
        <source>Camera not working</source>
        <translation>Camera not working</translation>
    </message>
    <message>
        <source>Please call the guard.</source>
        <translation>Please call the guard.</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>Online</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message numerus="yes">
        <source>%n visit(s) waiting to be sent</source>
        <translation>
            <numerusform>%n visit waiting to be sent</numerusform>
            <numerusform>%n visits waiting to be sent</numerusform>
        </translation>
    </message>
    <message>
        <source>nothing waiting to be sent</source>
        <translation>nothing waiting to be sent</translation>
    </message>
</context>
</TS>
