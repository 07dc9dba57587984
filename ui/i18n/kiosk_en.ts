<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>AdminScreen</name>
    <message>
        <source>Administration</source>
        <extracomment>Below this window height the open keyboard takes the header&apos;s room (see ``_keyboard_toggled``).</extracomment>
        <translation>Administration</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Close</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Camera</translation>
    </message>
    <message>
        <source>Gate</source>
        <translation>Gate</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>Export</translation>
    </message>
    <message>
        <source>Staff</source>
        <translation>Staff</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Settings</translation>
    </message>
</context>
<context>
    <name>CameraPage</name>
    <message>
        <source>Waiting for the picture…</source>
        <translation>Waiting for the picture…</translation>
    </message>
    <message>
        <source>Hold a code in front of the camera: the decode time is for the last frame.</source>
        <translation>Hold a code in front of the camera: the decode time is for the last frame.</translation>
    </message>
    <message>
        <source>Camera: …</source>
        <translation>Camera: …</translation>
    </message>
    <message>
        <source>Camera: %1</source>
        <translation>Camera: %1</translation>
    </message>
    <message>
        <source>not in this app</source>
        <translation>not in this app</translation>
    </message>
    <message>
        <source>Frame rate: %1 frames/s</source>
        <translation>Frame rate: %1 frames/s</translation>
    </message>
    <message>
        <source>Decode time: %1 ms</source>
        <translation>Decode time: %1 ms</translation>
    </message>
</context>
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
    <name>ExportPage</name>
    <message>
        <source>Writing to the USB stick… do not pull it out.</source>
        <translation>Writing to the USB stick… do not pull it out.</translation>
    </message>
    <message numerus="yes">
        <source>%n visit(s) written to %1. You may pull the stick out now.</source>
        <translation>
            <numerusform>%n visit written to %1. You may pull the stick out now.</numerusform>
            <numerusform>%n visits written to %1. You may pull the stick out now.</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing was exported:</source>
        <translation>Nothing was exported:</translation>
    </message>
    <message>
        <source>USB stick</source>
        <translation>USB stick</translation>
    </message>
    <message>
        <source>Visits from</source>
        <translation>Visits from</translation>
    </message>
    <message>
        <source>to</source>
        <translation>to</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>Today</translation>
    </message>
    <message>
        <source>Last 7 days</source>
        <translation>Last 7 days</translation>
    </message>
    <message>
        <source>Export to the USB stick</source>
        <translation>Export to the USB stick</translation>
    </message>
</context>
<context>
    <name>GatePage</name>
    <message>
        <source>Done: look and listen at the gate.</source>
        <translation>Done: look and listen at the gate.</translation>
    </message>
    <message>
        <source>No relay, LED or buzzer is configured (gate.enabled): nothing to test.</source>
        <translation>No relay, LED or buzzer is configured (gate.enabled): nothing to test.</translation>
    </message>
    <message>
        <source>The gate outputs report a fault: check the wiring.</source>
        <translation>The gate outputs report a fault: check the wiring.</translation>
    </message>
    <message>
        <source>The test failed:</source>
        <translation>The test failed:</translation>
    </message>
    <message>
        <source>Each button plays what the gate does for a verdict.</source>
        <translation>Each button plays what the gate does for a verdict.</translation>
    </message>
    <message>
        <source>Open: relay and green light for %1 s, one beep</source>
        <translation>Open: relay and green light for %1 s, one beep</translation>
    </message>
    <message>
        <source>Refused: red light, two beeps</source>
        <translation>Refused: red light, two beeps</translation>
    </message>
    <message>
        <source>See the guard: lights blink, long beep</source>
        <translation>See the guard: lights blink, long beep</translation>
    </message>
</context>
<context>
    <name>GuardConsole</name>
    <message>
        <source>Guard console</source>
        <translation>Guard console</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Close</translation>
    </message>
    <message>
        <source>Recent</source>
        <translation>Recent</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Search</translation>
    </message>
    <message>
        <source>Manual entry</source>
        <translation>Manual entry</translation>
    </message>
    <message>
        <source>Guard:</source>
        <translation>Guard:</translation>
    </message>
    <message>
        <source>Name or last digits of the ID</source>
        <translation>Name or last digits of the ID</translation>
    </message>
    <message>
        <source>Type words of the name, or at least %1 last digits of the ID number.</source>
        <translation>Type words of the name, or at least %1 last digits of the ID number.</translation>
    </message>
    <message>
        <source>Override refusal…</source>
        <translation>Override refusal…</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>ID number (optional)</source>
        <translation>ID number (optional)</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Reason</translation>
    </message>
    <message>
        <source>Other reason</source>
        <translation>Other reason</translation>
    </message>
    <message>
        <source>or type a reason</source>
        <translation>or type a reason</translation>
    </message>
    <message>
        <source>Record entry</source>
        <translation>Record entry</translation>
    </message>
    <message>
        <source>Let in a refused visitor</source>
        <translation>Let in a refused visitor</translation>
    </message>
    <message>
        <source>Let in</source>
        <translation>Let in</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>The record could not be read or written. Please try again or call the admin.</source>
        <translation>The record could not be read or written. Please try again or call the admin.</translation>
    </message>
    <message>
        <source>No visit record on this kiosk.</source>
        <translation>No visit record on this kiosk.</translation>
    </message>
    <message>
        <source>Nothing found.</source>
        <translation>Nothing found.</translation>
    </message>
    <message>
        <source>Type the visitor&apos;s name.</source>
        <translation>Type the visitor&apos;s name.</translation>
    </message>
    <message>
        <source>An ID number has 12 digits (or leave it empty).</source>
        <translation>An ID number has 12 digits (or leave it empty).</translation>
    </message>
    <message>
        <source>Choose or type a reason.</source>
        <translation>Choose or type a reason.</translation>
    </message>
    <message>
        <source>Recorded: %1.</source>
        <translation>Recorded: %1.</translation>
    </message>
    <message>
        <source>The reason is too long.</source>
        <translation>The reason is too long.</translation>
    </message>
    <message>
        <source>This name cannot be recorded; please check it.</source>
        <translation>This name cannot be recorded; please check it.</translation>
    </message>
    <message>
        <source>This refusal was already let in by the guard.</source>
        <translation>This refusal was already let in by the guard.</translation>
    </message>
    <message>
        <source>Let in: %1.</source>
        <translation>Let in: %1.</translation>
    </message>
    <message>
        <source>Inside now: %1 (in %2, out %3)</source>
        <translation>Inside now: %1 (in %2, out %3)</translation>
    </message>
    <message>
        <source>let in</source>
        <translation>let in</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>refused</translation>
    </message>
    <message>
        <source>to the guard</source>
        <translation>to the guard</translation>
    </message>
    <message>
        <source>(no name)</source>
        <translation>(no name)</translation>
    </message>
    <message>
        <source>by %1: %2</source>
        <translation>by %1: %2</translation>
    </message>
    <message>
        <source>let in by the guard</source>
        <translation>let in by the guard</translation>
    </message>
</context>
<context>
    <name>GuardReason</name>
    <message>
        <source>known staff member</source>
        <extracomment>The console goes back to scanning after this long without a touch.</extracomment>
        <translation>known staff member</translation>
    </message>
    <message>
        <source>visitor expected by the office</source>
        <translation>visitor expected by the office</translation>
    </message>
    <message>
        <source>code damaged, identity checked by hand</source>
        <translation>code damaged, identity checked by hand</translation>
    </message>
    <message>
        <source>elderly visitor without phone</source>
        <translation>elderly visitor without phone</translation>
    </message>
    <message>
        <source>emergency or official duty</source>
        <translation>emergency or official duty</translation>
    </message>
    <message>
        <source>visitor without phone</source>
        <translation>visitor without phone</translation>
    </message>
    <message>
        <source>visitor without ID card</source>
        <translation>visitor without ID card</translation>
    </message>
    <message>
        <source>elderly visitor</source>
        <translation>elderly visitor</translation>
    </message>
    <message>
        <source>code does not scan</source>
        <translation>code does not scan</translation>
    </message>
    <message>
        <source>delivery or contractor</source>
        <translation>delivery or contractor</translation>
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
    <name>MediaPicker</name>
    <message>
        <source>Look again</source>
        <translation>Look again</translation>
    </message>
    <message>
        <source>%1 (%2 MB free)</source>
        <translation>%1 (%2 MB free)</translation>
    </message>
    <message>
        <source>No USB stick found. Plug one in (not write-protected), wait a moment, then tap Look again.</source>
        <translation>No USB stick found. Plug one in (not write-protected), wait a moment, then tap Look again.</translation>
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
<context>
    <name>SettingsPage</name>
    <message>
        <source>The two PINs differ. Type the new PIN again.</source>
        <translation>The two PINs differ. Type the new PIN again.</translation>
    </message>
    <message>
        <source>Saving…</source>
        <extracomment>Quits the app with a status (systemd&apos;s Restart=always starts it again); tests replace it.</extracomment>
        <translation>Saving…</translation>
    </message>
    <message>
        <source>The admin PIN was changed.</source>
        <translation>The admin PIN was changed.</translation>
    </message>
    <message>
        <source>The guard PIN was changed.</source>
        <translation>The guard PIN was changed.</translation>
    </message>
    <message>
        <source>The PIN was not changed:</source>
        <translation>The PIN was not changed:</translation>
    </message>
    <message>
        <source>a PIN has 4 to 8 digits.</source>
        <translation>a PIN has 4 to 8 digits.</translation>
    </message>
    <message>
        <source>a PIN has only digits.</source>
        <translation>a PIN has only digits.</translation>
    </message>
    <message>
        <source>it is too easy to guess (like 1234, 0000 or 1212).</source>
        <translation>it is too easy to guess (like 1234, 0000 or 1212).</translation>
    </message>
    <message>
        <source>the guard and admin PINs must differ.</source>
        <translation>the guard and admin PINs must differ.</translation>
    </message>
    <message>
        <source>Saved. The new settings apply after a restart of the kiosk (about 10 seconds).</source>
        <translation>Saved. The new settings apply after a restart of the kiosk (about 10 seconds).</translation>
    </message>
    <message>
        <source>The settings were not saved:</source>
        <translation>The settings were not saved:</translation>
    </message>
    <message>
        <source>Location name</source>
        <translation>Location name</translation>
    </message>
    <message>
        <source>District</source>
        <translation>District</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Direction</translation>
    </message>
    <message>
        <source>Repeat window (seconds, 0-3600)</source>
        <translation>Repeat window (seconds, 0-3600)</translation>
    </message>
    <message>
        <source>Keep uploaded visits (days, 1-3650)</source>
        <translation>Keep uploaded visits (days, 1-3650)</translation>
    </message>
    <message>
        <source>Server (https://…, empty: none)</source>
        <translation>Server (https://…, empty: none)</translation>
    </message>
    <message>
        <source>Location code</source>
        <translation>Location code</translation>
    </message>
    <message>
        <source>In</source>
        <translation>In</translation>
    </message>
    <message>
        <source>Out</source>
        <translation>Out</translation>
    </message>
    <message>
        <source>Both</source>
        <translation>Both</translation>
    </message>
    <message>
        <source>Record everyone</source>
        <translation>Record everyone</translation>
    </message>
    <message>
        <source>Health certificate</source>
        <translation>Health certificate</translation>
    </message>
    <message>
        <source>Staff only</source>
        <translation>Staff only</translation>
    </message>
    <message>
        <source>relay %1, open %2 s</source>
        <translation>relay %1, open %2 s</translation>
    </message>
    <message>
        <source>not fitted</source>
        <translation>not fitted</translation>
    </message>
    <message>
        <source>Fixed by the kiosk&apos;s service (environment or command line), which wins over this page: %1</source>
        <translation>Fixed by the kiosk&apos;s service (environment or command line), which wins over this page: %1</translation>
    </message>
    <message>
        <source>Saved settings shown here apply after a restart of the kiosk.</source>
        <translation>Saved settings shown here apply after a restart of the kiosk.</translation>
    </message>
    <message>
        <source>Saved on the kiosk in %1 and checked before saving; they apply after a restart. The rest is in the configuration file %2, changed by the installer.</source>
        <translation>Saved on the kiosk in %1 and checked before saving; they apply after a restart. The rest is in the configuration file %2, changed by the installer.</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Address</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Device</translation>
    </message>
    <message>
        <source>Policy</source>
        <translation>Policy</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Camera</translation>
    </message>
    <message>
        <source>Gate outputs</source>
        <translation>Gate outputs</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>Database</translation>
    </message>
    <message>
        <source>Save the settings</source>
        <translation>Save the settings</translation>
    </message>
    <message>
        <source>Restart the kiosk now</source>
        <translation>Restart the kiosk now</translation>
    </message>
    <message>
        <source>Change a PIN</source>
        <translation>Change a PIN</translation>
    </message>
    <message>
        <source>Guard PIN</source>
        <translation>Guard PIN</translation>
    </message>
    <message>
        <source>Admin PIN</source>
        <translation>Admin PIN</translation>
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
        <source>No admin PIN yet: choose one (4 to 8 digits) before anything else.</source>
        <translation>No admin PIN yet: choose one (4 to 8 digits) before anything else.</translation>
    </message>
    <message>
        <source>Type the same PIN again, then OK.</source>
        <translation>Type the same PIN again, then OK.</translation>
    </message>
    <message>
        <source>Type the new PIN (4 to 8 digits), then OK.</source>
        <translation>Type the new PIN (4 to 8 digits), then OK.</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Settings</translation>
    </message>
</context>
<context>
    <name>StaffPage</name>
    <message>
        <source>No identity key in this app: a roster cannot be imported.</source>
        <translation>No identity key in this app: a roster cannot be imported.</translation>
    </message>
    <message>
        <source>Importing…</source>
        <translation>Importing…</translation>
    </message>
    <message numerus="yes">
        <source>Imported %n member(s) of staff; the previous roster was replaced.</source>
        <translation>
            <numerusform>Imported %n member of staff; the previous roster was replaced.</numerusform>
            <numerusform>Imported %n members of staff; the previous roster was replaced.</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing was imported:</source>
        <translation>Nothing was imported:</translation>
    </message>
    <message>
        <source>No report:</source>
        <translation>No report:</translation>
    </message>
    <message>
        <source>Written to %1. You may pull the stick out now.</source>
        <translation>Written to %1. You may pull the stick out now.</translation>
    </message>
    <message>
        <source>Nothing was exported:</source>
        <translation>Nothing was exported:</translation>
    </message>
    <message>
        <source>Staff roster</source>
        <translation>Staff roster</translation>
    </message>
    <message numerus="yes">
        <source>%n member(s) of staff on the roster. To replace it, choose a file below.</source>
        <translation>
            <numerusform>%n member of staff on the roster. To replace it, choose a file below.</numerusform>
            <numerusform>%n members of staff on the roster. To replace it, choose a file below.</numerusform>
        </translation>
    </message>
    <message>
        <source>The kept roster cannot be read:</source>
        <translation>The kept roster cannot be read:</translation>
    </message>
    <message>
        <source>No roster yet. Put the staff list (CSV or Excel: name and CCCD columns) on a USB stick.</source>
        <translation>No roster yet. Put the staff list (CSV or Excel: name and CCCD columns) on a USB stick.</translation>
    </message>
    <message>
        <source>Import this staff list</source>
        <translation>Import this staff list</translation>
    </message>
    <message>
        <source>Staff who did not scan</source>
        <translation>Staff who did not scan</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Show</translation>
    </message>
    <message>
        <source>%1: %2 of %3 did not scan.</source>
        <translation>%1: %2 of %3 did not scan.</translation>
    </message>
    <message>
        <source>%1: everyone on the roster scanned.</source>
        <translation>%1: everyone on the roster scanned.</translation>
    </message>
    <message>
        <source>Export the list</source>
        <translation>Export the list</translation>
    </message>
</context>
<context>
    <name>StatusPage</name>
    <message>
        <source>OK</source>
        <extracomment>The settings page&apos;s rows the admin changes (all of kiosk.config.ADMIN_KEYS), then those it only shows.</extracomment>
        <translation>OK</translation>
    </message>
    <message>
        <source>WARN</source>
        <translation>WARN</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation>FAIL</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Disk</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>Database</translation>
    </message>
    <message>
        <source>Waiting to send</source>
        <translation>Waiting to send</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <source>Clock</source>
        <translation>Clock</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Camera</translation>
    </message>
    <message>
        <source>Decode time</source>
        <translation>Decode time</translation>
    </message>
    <message>
        <source>Scan errors</source>
        <translation>Scan errors</translation>
    </message>
    <message>
        <source>Last errors</source>
        <translation>Last errors</translation>
    </message>
    <message>
        <source>Gate outputs</source>
        <translation>Gate outputs</translation>
    </message>
    <message>
        <source>Configuration</source>
        <translation>Configuration</translation>
    </message>
    <message>
        <source>Identity key</source>
        <translation>Identity key</translation>
    </message>
    <message>
        <source>Certificate trust list</source>
        <translation>Certificate trust list</translation>
    </message>
    <message>
        <source>2D scanners</source>
        <translation>2D scanners</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>The kiosk&apos;s state now; the self-test below is kiosk doctor&apos;s.</source>
        <translation>The kiosk&apos;s state now; the self-test below is kiosk doctor&apos;s.</translation>
    </message>
    <message>
        <source>Self-test: checking…</source>
        <translation>Self-test: checking…</translation>
    </message>
    <message>
        <source>Self-test: not available in this app</source>
        <translation>Self-test: not available in this app</translation>
    </message>
    <message>
        <source>Self-test (kiosk doctor)</source>
        <translation>Self-test (kiosk doctor)</translation>
    </message>
</context>
</TS>
