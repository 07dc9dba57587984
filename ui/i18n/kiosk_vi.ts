<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="vi">
<context>
    <name>AdminScreen</name>
    <message>
        <source>Administration</source>
        <extracomment>Below this window height the open keyboard takes the header&apos;s room (see ``_keyboard_toggled``).</extracomment>
        <translation>Quản trị</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Trạng thái</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Camera</translation>
    </message>
    <message>
        <source>Gate</source>
        <translation>Cổng</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>Xuất dữ liệu</translation>
    </message>
    <message>
        <source>Staff</source>
        <translation>Nhân viên</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Cài đặt</translation>
    </message>
</context>
<context>
    <name>CameraPage</name>
    <message>
        <source>Waiting for the picture…</source>
        <translation>Đang chờ hình ảnh…</translation>
    </message>
    <message>
        <source>Hold a code in front of the camera: the decode time is for the last frame.</source>
        <translation>Đưa một mã trước camera: thời gian giải mã tính cho khung hình gần nhất.</translation>
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
        <translation>không có trong ứng dụng này</translation>
    </message>
    <message>
        <source>Frame rate: %1 frames/s</source>
        <translation>Tốc độ khung hình: %1 khung/giây</translation>
    </message>
    <message>
        <source>Decode time: %1 ms</source>
        <translation>Thời gian giải mã: %1 ms</translation>
    </message>
</context>
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
    <name>ExportPage</name>
    <message>
        <source>Writing to the USB stick… do not pull it out.</source>
        <translation>Đang ghi vào USB… đừng rút ra.</translation>
    </message>
    <message numerus="yes">
        <source>%n visit(s) written to %1. You may pull the stick out now.</source>
        <translation>
            <numerusform>Đã ghi %n lượt vào %1. Bây giờ có thể rút USB ra.</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing was exported:</source>
        <translation>Chưa xuất được gì:</translation>
    </message>
    <message>
        <source>USB stick</source>
        <translation>USB</translation>
    </message>
    <message>
        <source>Visits from</source>
        <translation>Lượt ra vào từ ngày</translation>
    </message>
    <message>
        <source>to</source>
        <translation>đến</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>Hôm nay</translation>
    </message>
    <message>
        <source>Last 7 days</source>
        <translation>7 ngày qua</translation>
    </message>
    <message>
        <source>Export to the USB stick</source>
        <translation>Xuất ra USB</translation>
    </message>
</context>
<context>
    <name>GatePage</name>
    <message>
        <source>Done: look and listen at the gate.</source>
        <translation>Xong: hãy nhìn và nghe ở cổng.</translation>
    </message>
    <message>
        <source>No relay, LED or buzzer is configured (gate.enabled): nothing to test.</source>
        <translation>Chưa cấu hình rơ-le, đèn hay còi (gate.enabled): không có gì để thử.</translation>
    </message>
    <message>
        <source>The gate outputs report a fault: check the wiring.</source>
        <translation>Đầu ra của cổng báo lỗi: hãy kiểm tra dây nối.</translation>
    </message>
    <message>
        <source>The test failed:</source>
        <translation>Thử không thành công:</translation>
    </message>
    <message>
        <source>Each button plays what the gate does for a verdict.</source>
        <translation>Mỗi nút phát lại việc cổng làm cho một kết quả quét.</translation>
    </message>
    <message>
        <source>Open: relay and green light for %1 s, one beep</source>
        <translation>Mở: rơ-le và đèn xanh %1 giây, một tiếng bíp</translation>
    </message>
    <message>
        <source>Refused: red light, two beeps</source>
        <translation>Từ chối: đèn đỏ, hai tiếng bíp</translation>
    </message>
    <message>
        <source>See the guard: lights blink, long beep</source>
        <translation>Gặp bảo vệ: đèn nhấp nháy, bíp dài</translation>
    </message>
</context>
<context>
    <name>GuardConsole</name>
    <message>
        <source>Guard console</source>
        <translation>Màn hình bảo vệ</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
    <message>
        <source>Recent</source>
        <translation>Gần đây</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Tìm kiếm</translation>
    </message>
    <message>
        <source>Manual entry</source>
        <translation>Nhập tay</translation>
    </message>
    <message>
        <source>Guard:</source>
        <translation>Bảo vệ:</translation>
    </message>
    <message>
        <source>Name or last digits of the ID</source>
        <translation>Tên hoặc các số cuối của số định danh</translation>
    </message>
    <message>
        <source>Type words of the name, or at least %1 last digits of the ID number.</source>
        <translation>Gõ các chữ của tên, hoặc ít nhất %1 số cuối của số định danh.</translation>
    </message>
    <message>
        <source>Override refusal…</source>
        <translation>Cho vào dù bị từ chối…</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Họ tên</translation>
    </message>
    <message>
        <source>ID number (optional)</source>
        <translation>Số định danh (không bắt buộc)</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Lý do</translation>
    </message>
    <message>
        <source>Other reason</source>
        <translation>Lý do khác</translation>
    </message>
    <message>
        <source>or type a reason</source>
        <translation>hoặc gõ lý do</translation>
    </message>
    <message>
        <source>Record entry</source>
        <translation>Ghi nhận</translation>
    </message>
    <message>
        <source>Let in a refused visitor</source>
        <translation>Cho khách bị từ chối vào</translation>
    </message>
    <message>
        <source>Let in</source>
        <translation>Cho vào</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Hủy</translation>
    </message>
    <message>
        <source>The record could not be read or written. Please try again or call the admin.</source>
        <translation>Không đọc hoặc ghi được dữ liệu. Vui lòng thử lại hoặc gọi quản trị viên.</translation>
    </message>
    <message>
        <source>No visit record on this kiosk.</source>
        <translation>Máy này không có sổ ghi lượt ra vào.</translation>
    </message>
    <message>
        <source>Nothing found.</source>
        <translation>Không tìm thấy.</translation>
    </message>
    <message>
        <source>Type the visitor&apos;s name.</source>
        <translation>Hãy gõ họ tên của khách.</translation>
    </message>
    <message>
        <source>An ID number has 12 digits (or leave it empty).</source>
        <translation>Số định danh có 12 chữ số (hoặc để trống).</translation>
    </message>
    <message>
        <source>Choose or type a reason.</source>
        <translation>Hãy chọn hoặc gõ lý do.</translation>
    </message>
    <message>
        <source>Recorded: %1.</source>
        <translation>Đã ghi nhận: %1.</translation>
    </message>
    <message>
        <source>The reason is too long.</source>
        <translation>Lý do quá dài.</translation>
    </message>
    <message>
        <source>This name cannot be recorded; please check it.</source>
        <translation>Không ghi nhận được tên này; vui lòng kiểm tra lại.</translation>
    </message>
    <message>
        <source>This refusal was already let in by the guard.</source>
        <translation>Lượt bị từ chối này đã được bảo vệ cho vào.</translation>
    </message>
    <message>
        <source>Let in: %1.</source>
        <translation>Đã cho vào: %1.</translation>
    </message>
    <message>
        <source>Inside now: %1 (in %2, out %3)</source>
        <translation>Đang ở trong: %1 (vào %2, ra %3)</translation>
    </message>
    <message>
        <source>let in</source>
        <translation>cho vào</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>từ chối</translation>
    </message>
    <message>
        <source>to the guard</source>
        <translation>gặp bảo vệ</translation>
    </message>
    <message>
        <source>(no name)</source>
        <translation>(không có tên)</translation>
    </message>
    <message>
        <source>by %1: %2</source>
        <translation>%1 ghi: %2</translation>
    </message>
    <message>
        <source>let in by the guard</source>
        <translation>bảo vệ đã cho vào</translation>
    </message>
</context>
<context>
    <name>GuardReason</name>
    <message>
        <source>known staff member</source>
        <extracomment>The console goes back to scanning after this long without a touch.</extracomment>
        <translation>nhân viên quen biết</translation>
    </message>
    <message>
        <source>visitor expected by the office</source>
        <translation>khách cơ quan đã hẹn</translation>
    </message>
    <message>
        <source>code damaged, identity checked by hand</source>
        <translation>mã hỏng, đã kiểm tra giấy tờ trực tiếp</translation>
    </message>
    <message>
        <source>elderly visitor without phone</source>
        <translation>người cao tuổi không có điện thoại</translation>
    </message>
    <message>
        <source>emergency or official duty</source>
        <translation>khẩn cấp hoặc công vụ</translation>
    </message>
    <message>
        <source>visitor without phone</source>
        <translation>khách không có điện thoại</translation>
    </message>
    <message>
        <source>visitor without ID card</source>
        <translation>khách không có CCCD</translation>
    </message>
    <message>
        <source>elderly visitor</source>
        <translation>người cao tuổi</translation>
    </message>
    <message>
        <source>code does not scan</source>
        <translation>mã không quét được</translation>
    </message>
    <message>
        <source>delivery or contractor</source>
        <translation>giao hàng hoặc nhà thầu</translation>
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
    <name>MediaPicker</name>
    <message>
        <source>Look again</source>
        <translation>Tìm lại</translation>
    </message>
    <message>
        <source>%1 (%2 MB free)</source>
        <translation>%1 (còn trống %2 MB)</translation>
    </message>
    <message>
        <source>No USB stick found. Plug one in (not write-protected), wait a moment, then tap Look again.</source>
        <translation>Không tìm thấy USB. Hãy cắm USB (không khóa ghi), chờ một lát rồi bấm Tìm lại.</translation>
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
<context>
    <name>SettingsPage</name>
    <message>
        <source>The two PINs differ. Type the new PIN again.</source>
        <translation>Hai mã PIN không giống nhau. Hãy nhập lại mã PIN mới.</translation>
    </message>
    <message>
        <source>Saving…</source>
        <extracomment>Quits the app with a status (systemd&apos;s Restart=always starts it again); tests replace it.</extracomment>
        <translation>Đang lưu…</translation>
    </message>
    <message>
        <source>The admin PIN was changed.</source>
        <translation>Đã đổi mã PIN quản trị.</translation>
    </message>
    <message>
        <source>The guard PIN was changed.</source>
        <translation>Đã đổi mã PIN bảo vệ.</translation>
    </message>
    <message>
        <source>The PIN was not changed:</source>
        <translation>Chưa đổi được mã PIN:</translation>
    </message>
    <message>
        <source>a PIN has 4 to 8 digits.</source>
        <translation>mã PIN có từ 4 đến 8 chữ số.</translation>
    </message>
    <message>
        <source>a PIN has only digits.</source>
        <translation>mã PIN chỉ gồm chữ số.</translation>
    </message>
    <message>
        <source>it is too easy to guess (like 1234, 0000 or 1212).</source>
        <translation>mã quá dễ đoán (như 1234, 0000 hay 1212).</translation>
    </message>
    <message>
        <source>the guard and admin PINs must differ.</source>
        <translation>mã PIN bảo vệ và mã PIN quản trị phải khác nhau.</translation>
    </message>
    <message>
        <source>Saved. The new settings apply after a restart of the kiosk (about 10 seconds).</source>
        <translation>Đã lưu. Cài đặt mới có hiệu lực sau khi khởi động lại kiosk (khoảng 10 giây).</translation>
    </message>
    <message>
        <source>The settings were not saved:</source>
        <translation>Cài đặt chưa được lưu:</translation>
    </message>
    <message>
        <source>Location name</source>
        <translation>Tên địa điểm</translation>
    </message>
    <message>
        <source>District</source>
        <translation>Quận/huyện</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Chiều</translation>
    </message>
    <message>
        <source>Repeat window (seconds, 0-3600)</source>
        <translation>Thời gian bỏ qua quét lặp lại (giây, 0-3600)</translation>
    </message>
    <message>
        <source>Keep uploaded visits (days, 1-3650)</source>
        <translation>Giữ lượt ra vào đã gửi (ngày, 1-3650)</translation>
    </message>
    <message>
        <source>Server (https://…, empty: none)</source>
        <translation>Máy chủ (https://…, để trống: không có)</translation>
    </message>
    <message>
        <source>Location code</source>
        <translation>Mã địa điểm</translation>
    </message>
    <message>
        <source>In</source>
        <translation>Vào</translation>
    </message>
    <message>
        <source>Out</source>
        <translation>Ra</translation>
    </message>
    <message>
        <source>Both</source>
        <translation>Cả hai</translation>
    </message>
    <message>
        <source>Record everyone</source>
        <translation>Ghi nhận mọi người</translation>
    </message>
    <message>
        <source>Health certificate</source>
        <translation>Chứng nhận y tế</translation>
    </message>
    <message>
        <source>Staff only</source>
        <translation>Chỉ nhân viên</translation>
    </message>
    <message>
        <source>relay %1, open %2 s</source>
        <translation>rơ-le %1, mở %2 giây</translation>
    </message>
    <message>
        <source>not fitted</source>
        <translation>không lắp</translation>
    </message>
    <message>
        <source>Fixed by the kiosk&apos;s service (environment or command line), which wins over this page: %1</source>
        <translation>Do dịch vụ của kiosk đặt cố định (biến môi trường hoặc dòng lệnh), được ưu tiên hơn trang này: %1</translation>
    </message>
    <message>
        <source>Saved settings shown here apply after a restart of the kiosk.</source>
        <translation>Các cài đặt đã lưu hiển thị ở đây có hiệu lực sau khi khởi động lại kiosk.</translation>
    </message>
    <message>
        <source>Saved on the kiosk in %1 and checked before saving; they apply after a restart. The rest is in the configuration file %2, changed by the installer.</source>
        <translation>Được kiểm tra trước khi lưu và lưu trên kiosk tại %1; có hiệu lực sau khi khởi động lại. Các cài đặt còn lại nằm trong tệp cấu hình %2, do người cài đặt thay đổi.</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Địa chỉ</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Thiết bị</translation>
    </message>
    <message>
        <source>Policy</source>
        <translation>Chế độ kiểm tra</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Camera</translation>
    </message>
    <message>
        <source>Gate outputs</source>
        <translation>Đầu ra của cổng</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>Save the settings</source>
        <translation>Lưu cài đặt</translation>
    </message>
    <message>
        <source>Restart the kiosk now</source>
        <translation>Khởi động lại kiosk ngay</translation>
    </message>
    <message>
        <source>Change a PIN</source>
        <translation>Đổi mã PIN</translation>
    </message>
    <message>
        <source>Guard PIN</source>
        <translation>PIN bảo vệ</translation>
    </message>
    <message>
        <source>Admin PIN</source>
        <translation>PIN quản trị</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>No admin PIN yet: choose one (4 to 8 digits) before anything else.</source>
        <translation>Chưa có mã PIN quản trị: hãy chọn một mã (4 đến 8 chữ số) trước tiên.</translation>
    </message>
    <message>
        <source>Type the same PIN again, then OK.</source>
        <translation>Nhập lại đúng mã PIN đó, rồi bấm OK.</translation>
    </message>
    <message>
        <source>Type the new PIN (4 to 8 digits), then OK.</source>
        <translation>Nhập mã PIN mới (4 đến 8 chữ số), rồi bấm OK.</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Cài đặt</translation>
    </message>
</context>
<context>
    <name>StaffPage</name>
    <message>
        <source>No identity key in this app: a roster cannot be imported.</source>
        <translation>Ứng dụng chưa có khóa định danh: không nhập được danh sách nhân viên.</translation>
    </message>
    <message>
        <source>Importing…</source>
        <translation>Đang nhập…</translation>
    </message>
    <message numerus="yes">
        <source>Imported %n member(s) of staff; the previous roster was replaced.</source>
        <translation>
            <numerusform>Đã nhập %n nhân viên; danh sách cũ đã được thay thế.</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing was imported:</source>
        <translation>Chưa nhập được gì:</translation>
    </message>
    <message>
        <source>No report:</source>
        <translation>Không lập được báo cáo:</translation>
    </message>
    <message>
        <source>Written to %1. You may pull the stick out now.</source>
        <translation>Đã ghi vào %1. Bây giờ có thể rút USB ra.</translation>
    </message>
    <message>
        <source>Nothing was exported:</source>
        <translation>Chưa xuất được gì:</translation>
    </message>
    <message>
        <source>Staff roster</source>
        <translation>Danh sách nhân viên</translation>
    </message>
    <message numerus="yes">
        <source>%n member(s) of staff on the roster. To replace it, choose a file below.</source>
        <translation>
            <numerusform>Danh sách có %n nhân viên. Muốn thay, hãy chọn một tệp bên dưới.</numerusform>
        </translation>
    </message>
    <message>
        <source>The kept roster cannot be read:</source>
        <translation>Không đọc được danh sách đã lưu:</translation>
    </message>
    <message>
        <source>No roster yet. Put the staff list (CSV or Excel: name and CCCD columns) on a USB stick.</source>
        <translation>Chưa có danh sách. Hãy chép danh sách nhân viên (CSV hoặc Excel: cột họ tên và số CCCD) vào USB.</translation>
    </message>
    <message>
        <source>Import this staff list</source>
        <translation>Nhập danh sách này</translation>
    </message>
    <message>
        <source>Staff who did not scan</source>
        <translation>Nhân viên chưa quét mã</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Xem</translation>
    </message>
    <message>
        <source>%1: %2 of %3 did not scan.</source>
        <translation>%1: %2 trên %3 người chưa quét mã.</translation>
    </message>
    <message>
        <source>%1: everyone on the roster scanned.</source>
        <translation>%1: mọi người trong danh sách đã quét mã.</translation>
    </message>
    <message>
        <source>Export the list</source>
        <translation>Xuất danh sách</translation>
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
        <translation>CẢNH BÁO</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation>LỖI</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Phiên bản</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Dung lượng đĩa</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>Waiting to send</source>
        <translation>Chờ gửi</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Máy chủ</translation>
    </message>
    <message>
        <source>Clock</source>
        <translation>Đồng hồ</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Camera</translation>
    </message>
    <message>
        <source>Decode time</source>
        <translation>Thời gian giải mã</translation>
    </message>
    <message>
        <source>Scan errors</source>
        <translation>Lỗi khi quét</translation>
    </message>
    <message>
        <source>Last errors</source>
        <translation>Lỗi gần đây</translation>
    </message>
    <message>
        <source>Gate outputs</source>
        <translation>Đầu ra của cổng</translation>
    </message>
    <message>
        <source>Configuration</source>
        <translation>Cấu hình</translation>
    </message>
    <message>
        <source>Identity key</source>
        <translation>Khóa định danh</translation>
    </message>
    <message>
        <source>Certificate trust list</source>
        <translation>Danh sách tin cậy chứng nhận</translation>
    </message>
    <message>
        <source>2D scanners</source>
        <translation>Máy quét 2D</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Làm mới</translation>
    </message>
    <message>
        <source>The kiosk&apos;s state now; the self-test below is kiosk doctor&apos;s.</source>
        <translation>Tình trạng hiện tại của máy; phần tự kiểm tra bên dưới là của kiosk doctor.</translation>
    </message>
    <message>
        <source>Self-test: checking…</source>
        <translation>Tự kiểm tra: đang kiểm tra…</translation>
    </message>
    <message>
        <source>Self-test: not available in this app</source>
        <translation>Tự kiểm tra: không có trong ứng dụng này</translation>
    </message>
    <message>
        <source>Self-test (kiosk doctor)</source>
        <translation>Tự kiểm tra (kiosk doctor)</translation>
    </message>
</context>
</TS>
