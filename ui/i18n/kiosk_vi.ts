<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="vi">
<context>
    <name>Direction</name>
    <message>
        <source>OUT</source>
        <translation>RA</translation>
    </message>
    <message>
        <source>IN</source>
        <translation>VÀO</translation>
    </message>
</context>
<context>
    <name>Hint</name>
    <message>
        <source>Too dark — move into the light</source>
        <translation>Quá tối — hãy ra chỗ sáng hơn</translation>
    </message>
    <message>
        <source>Glare — tilt the code a little</source>
        <translation>Bị chói — nghiêng mã một chút</translation>
    </message>
    <message>
        <source>Move the code closer</source>
        <translation>Đưa mã lại gần hơn</translation>
    </message>
    <message>
        <source>Hold the code still</source>
        <translation>Giữ yên mã</translation>
    </message>
    <message>
        <source>Hold it there…</source>
        <translation>Giữ nguyên như vậy…</translation>
    </message>
</context>
<context>
    <name>Outcome</name>
    <message>
        <source>ACCEPTED</source>
        <translation>HỢP LỆ</translation>
    </message>
    <message>
        <source>REFUSED</source>
        <translation>TỪ CHỐI</translation>
    </message>
    <message>
        <source>SEE THE GUARD</source>
        <translation>GẶP BẢO VỆ</translation>
    </message>
    <message>
        <source>Already recorded.</source>
        <translation>Đã ghi nhận rồi.</translation>
    </message>
    <message>
        <source>Goodbye — your exit is recorded.</source>
        <translation>Tạm biệt — đã ghi nhận lượt ra.</translation>
    </message>
    <message>
        <source>Welcome — your visit is recorded.</source>
        <translation>Xin mời vào — đã ghi nhận lượt vào.</translation>
    </message>
    <message>
        <source>Please see the guard to be let in.</source>
        <translation>Vui lòng gặp bảo vệ để được vào.</translation>
    </message>
    <message>
        <source>Your code was not accepted.</source>
        <translation>Mã của bạn không được chấp nhận.</translation>
    </message>
</context>
<context>
    <name>PinPad</name>
    <message>
        <source>Enter the PIN</source>
        <translation>Nhập mã PIN</translation>
    </message>
    <message>
        <source>Guard</source>
        <translation>Bảo vệ</translation>
    </message>
    <message>
        <source>Admin</source>
        <translation>Quản trị</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>Đồng ý</translation>
    </message>
    <message>
        <source>Back to scanning</source>
        <translation>Quay lại quét mã</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Đang kiểm tra…</translation>
    </message>
    <message>
        <source>PINs are not available on this kiosk yet.</source>
        <translation>Kiosk này chưa có mã PIN.</translation>
    </message>
    <message>
        <source>Too many wrong PINs. Try again in %1 s.</source>
        <translation>Nhập sai quá nhiều lần. Thử lại sau %1 giây.</translation>
    </message>
    <message>
        <source>Wrong PIN.</source>
        <translation>Sai mã PIN.</translation>
    </message>
</context>
<context>
    <name>PlaceholderScreen</name>
    <message>
        <source>Guard console</source>
        <extracomment>A PIN pad, guard console or admin screen left alone this long goes back to scanning. role → (module, class) of the screen a right PIN opens. Written by the guard/admin work; may be absent.</extracomment>
        <translation>Màn hình bảo vệ</translation>
    </message>
    <message>
        <source>Administration</source>
        <translation>Quản trị</translation>
    </message>
    <message>
        <source>This screen is not available in this version yet.</source>
        <translation>Phiên bản này chưa có màn hình này.</translation>
    </message>
    <message>
        <source>Back to scanning</source>
        <translation>Quay lại quét mã</translation>
    </message>
</context>
<context>
    <name>Reason</name>
    <message>
        <source>Your code is valid.</source>
        <translation>Mã hợp lệ.</translation>
    </message>
    <message>
        <source>The code is empty. Please show another code.</source>
        <translation>Mã trống. Vui lòng đưa mã khác.</translation>
    </message>
    <message>
        <source>This code is too long to be an ID card or a personal code.</source>
        <translation>Mã này quá dài, không phải thẻ căn cước hay mã cá nhân.</translation>
    </message>
    <message>
        <source>This code cannot be read as text. Please show your personal code or ID card.</source>
        <translation>Không đọc được nội dung mã. Vui lòng đưa mã cá nhân hoặc thẻ căn cước.</translation>
    </message>
    <message>
        <source>This code contains hidden characters and cannot be accepted.</source>
        <translation>Mã có chứa ký tự ẩn nên không được chấp nhận.</translation>
    </message>
    <message>
        <source>The name in this code is not valid.</source>
        <translation>Họ tên trong mã không hợp lệ.</translation>
    </message>
    <message>
        <source>This code is damaged or incomplete. Please show it again or use your ID card.</source>
        <translation>Mã bị hỏng hoặc thiếu. Vui lòng đưa lại mã hoặc dùng thẻ căn cước.</translation>
    </message>
    <message>
        <source>The ID number in this code is not valid.</source>
        <translation>Số định danh trong mã không hợp lệ.</translation>
    </message>
    <message>
        <source>A date in this code is not valid.</source>
        <translation>Ngày tháng trong mã không hợp lệ.</translation>
    </message>
    <message>
        <source>The details on this card are not valid.</source>
        <translation>Thông tin trên thẻ không hợp lệ.</translation>
    </message>
    <message>
        <source>This is the place&apos;s code — please show your personal code or ID card.</source>
        <translation>Đây là mã của địa điểm — vui lòng đưa mã cá nhân hoặc thẻ căn cước.</translation>
    </message>
    <message>
        <source>This is not an ID card or a personal health code.</source>
        <translation>Đây không phải thẻ căn cước hay mã sức khỏe cá nhân.</translation>
    </message>
    <message>
        <source>This vaccine certificate is damaged and cannot be read.</source>
        <translation>Chứng nhận tiêm chủng bị hỏng, không đọc được.</translation>
    </message>
    <message>
        <source>This vaccine certificate comes from an issuer the kiosk does not know.</source>
        <translation>Chứng nhận tiêm chủng do nơi cấp mà kiosk chưa biết.</translation>
    </message>
    <message>
        <source>This vaccine certificate uses a signature the kiosk does not accept.</source>
        <translation>Chứng nhận tiêm chủng dùng loại chữ ký kiosk không chấp nhận.</translation>
    </message>
    <message>
        <source>This vaccine certificate&apos;s signature is not valid — it may have been altered.</source>
        <translation>Chữ ký của chứng nhận tiêm chủng không hợp lệ — có thể đã bị sửa đổi.</translation>
    </message>
    <message>
        <source>This vaccine certificate is not valid yet.</source>
        <translation>Chứng nhận tiêm chủng chưa có hiệu lực.</translation>
    </message>
    <message>
        <source>This vaccine certificate has expired.</source>
        <translation>Chứng nhận tiêm chủng đã hết hạn.</translation>
    </message>
    <message>
        <source>The issuer&apos;s key for this certificate is not valid yet.</source>
        <translation>Khóa của nơi cấp chứng nhận này chưa có hiệu lực.</translation>
    </message>
    <message>
        <source>The issuer&apos;s key for this certificate has expired.</source>
        <translation>Khóa của nơi cấp chứng nhận này đã hết hạn.</translation>
    </message>
    <message>
        <source>This issuer may not sign this kind of certificate.</source>
        <translation>Nơi cấp này không được phép ký loại chứng nhận này.</translation>
    </message>
    <message>
        <source>The contents of this vaccine certificate are not valid.</source>
        <translation>Nội dung chứng nhận tiêm chủng không hợp lệ.</translation>
    </message>
    <message>
        <source>You may not enter here. Please see the guard.</source>
        <translation>Bạn không được vào đây. Vui lòng gặp bảo vệ.</translation>
    </message>
    <message>
        <source>You are not on this office&apos;s list. Please see the guard.</source>
        <translation>Bạn không có trong danh sách của cơ quan. Vui lòng gặp bảo vệ.</translation>
    </message>
    <message>
        <source>A vaccine or test certificate is required here.</source>
        <translation>Nơi này yêu cầu chứng nhận tiêm chủng hoặc xét nghiệm.</translation>
    </message>
    <message>
        <source>You were recorded a moment ago — no need to scan again.</source>
        <translation>Bạn vừa được ghi nhận — không cần quét lại.</translation>
    </message>
    <message>
        <source>Your visit could not be recorded. Please see the guard.</source>
        <translation>Không ghi nhận được lượt của bạn. Vui lòng gặp bảo vệ.</translation>
    </message>
    <message>
        <source>Entered by hand by the guard.</source>
        <translation>Bảo vệ đã nhập tay.</translation>
    </message>
    <message>
        <source>Let in by the guard.</source>
        <translation>Bảo vệ đã cho vào.</translation>
    </message>
    <message>
        <source>This kiosk is out of service. Please see the guard.</source>
        <translation>Kiosk đang tạm ngừng hoạt động. Vui lòng gặp bảo vệ.</translation>
    </message>
</context>
<context>
    <name>ScanScreen</name>
    <message>
        <source>Show your QR code or chip ID card to the camera</source>
        <translation>Đưa mã QR hoặc thẻ căn cước gắn chip vào trước camera</translation>
    </message>
    <message>
        <source>This place&apos;s code</source>
        <translation>Mã của địa điểm</translation>
    </message>
    <message>
        <source>Help: hotline %1 · report a problem in the Hue-S app</source>
        <translation>Hỗ trợ: đường dây nóng %1 · phản ánh qua ứng dụng Hue-S</translation>
    </message>
    <message>
        <source>Starting the camera…</source>
        <translation>Đang khởi động camera…</translation>
    </message>
    <message>
        <source>Camera not working</source>
        <translation>Camera không hoạt động</translation>
    </message>
    <message>
        <source>Please call the guard.</source>
        <translation>Vui lòng gọi bảo vệ.</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>Trực tuyến</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>Ngoại tuyến</translation>
    </message>
    <message numerus="yes">
        <source>%n visit(s) waiting to be sent</source>
        <translation>
            <numerusform>%n lượt chờ gửi</numerusform>
        </translation>
    </message>
    <message>
        <source>nothing waiting to be sent</source>
        <translation>không có lượt nào chờ gửi</translation>
    </message>
</context>
</TS>
