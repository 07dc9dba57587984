"""Layer: core. The one frozen, typed configuration tree and its loader.

Precedence, lowest first: defaults in code → a TOML file (``--config``, else ``$KIOSK_CONFIG``, else
``/etc/kiosk/kiosk.toml`` if it exists) → the admin settings file (``store.admin_settings``: what the admin
screen saved; only ``ADMIN_KEYS``; missing is fine) → ``KIOSK_<SECTION>_<KEY>`` environment variables →
command-line overrides (``section.key=value``). Invalid values stop start-up with a ``ConfigError`` that names the key
and the allowed values. The tree is passed in explicitly; there is no global settings object.
Secrets (device token, admin PIN hash) do not live here: they go in a separate root-only file.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import tomllib
import types
import typing
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.decode.image import MAX_IMAGE_PIXELS_CEILING
from kiosk.decode.options import DecoderOptions
from kiosk.decode.plan import is_stage_name
from kiosk.device import parse_camera_source
from kiosk.errors import ConfigError
from kiosk.model import Direction, PolicyMode

SYSTEM_CONFIG = Path("/etc/kiosk/kiosk.toml")
#: A config file larger than this is refused unread (the example, every key documented, is about 7 KB).
MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_LINE = 4096
#: Numbers in the config lie within ± this: every real setting is far inside, and it is exact in a float.
MAX_CONFIG_NUMBER = 10**15 - 1
_NUMBER_RANGE = f"numbers from -{MAX_CONFIG_NUMBER} to {MAX_CONFIG_NUMBER}"
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class LocationConfig:
    """The premises this kiosk guards (shown on screen and sent with every record)."""

    code: str = "DEMO-0001"
    name: str = "Văn phòng thử nghiệm"
    address: str = ""
    district: str = ""


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    id: str = "kiosk-dev"
    direction: Direction = Direction.IN
    privacy_notice_version: str = "2026-01"


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    mode: PolicyMode = PolicyMode.LOG
    #: The same code shown again within this many seconds is not a second visit.
    repeat_window_s: float = 30.0
    #: JSON file of identity hashes pushed by the province (people who must not enter).
    deny_list: Path | None = None
    #: JSON file of identity hashes of the staff/roster (used by ``allowlist`` mode).
    roster: Path | None = None


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    #: Uploaded visits are purged from the kiosk this many days after they happened.
    days: int = 30


@dataclass(frozen=True, slots=True)
class StoreConfig:
    database: Path = Path("/var/lib/kiosk/kiosk.db")
    #: Below this much free disk space the kiosk says "out of service" instead of half-working.
    min_free_mb: int = 200
    #: What the admin screen saved (only ``ADMIN_KEYS``), read above the TOML file and below the environment.
    #: Beside the database: the kiosk's user writes there, /etc/kiosk is root's. Missing = nothing saved.
    admin_settings: Path = Path("/var/lib/kiosk/admin-settings.toml")


@dataclass(frozen=True, slots=True)
class CameraConfig:
    #: auto (picamera2, then OpenCV) | picamera2 | opencv:DEVICE (index or /dev/v4l/by-id/... path)
    #: | replay:PATH (folder of images or a video) | demo
    source: str = "auto"
    width: int = 640
    height: int = 480
    fps: float = 30.0
    #: Exposure and focus where the driver allows; "auto" leaves them to the camera.
    exposure: str = "auto"
    focus: str = "auto"
    #: Replay pacing: real time at ``fps`` (true) or as fast as frames can be read (false).
    replay_realtime: bool = True
    #: No frame for this long → "camera lost" on screen, and the camera is reopened with back-off.
    lost_after_s: float = 2.0
    #: Back-off between reopen attempts grows to at most this.
    reopen_max_s: float = 5.0


#: What ``camera.exposure`` and ``camera.focus`` accept.
MANUAL_SETTING = "'auto', or a number of 0 or more (see kiosk.example.toml)"


def parse_manual_setting(value: str) -> float | None:
    """``camera.exposure`` or ``camera.focus``: ``"auto"`` (or empty) → None, the camera decides; a finite
    number of 0 or more → that number. Anything else raises ``ValueError``.

    The one parser for both validation and the camera backends, so they cannot disagree.
    """
    text = value.strip().lower()
    if text in ("", "auto"):
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not 0 <= number < math.inf:
        raise ValueError(f"expected {MANUAL_SETTING}, got {_show(value)}")
    return number


@dataclass(frozen=True, slots=True)
class GateConfig:
    #: Drive the relay, LEDs and buzzer through gpiozero. Off, or no GPIO on the machine → "no gate outputs".
    enabled: bool = False
    #: BCM pin of the relay for a door strike or turnstile; empty = no relay.
    relay_pin: str = ""
    #: true: the relay closes when the pin is high.
    relay_active_high: bool = True
    #: How long the relay stays closed for one admission.
    unlock_s: float = 3.0
    green_led_pin: str = ""
    red_led_pin: str = ""
    buzzer_pin: str = ""
    #: Optional door or turnstile sensor input (closed = pin pulled low).
    door_sensor_pin: str = ""


@dataclass(frozen=True, slots=True)
class ScannerConfig:
    #: A USB HID keyboard-wedge 2D scanner (evdev device, e.g. /dev/input/by-id/...-event-kbd); empty = none.
    hid_device: str = ""
    #: A serial / USB-CDC 2D scanner (e.g. /dev/ttyACM0); empty = none. The mode that keeps UTF-8 intact.
    serial_port: str = ""
    #: One of ``SERIAL_BAUD_RATES``, as set on the scanner (a USB-CDC scanner ignores it).
    serial_baud: int = 115200


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """The sync worker (``kiosk sync``, ``kiosk.sync``): uploads visits, heartbeats, pulls configuration."""

    #: The provincial server's base URL (https://...; http:// only to 127.0.0.1 or localhost, for the demo);
    #: empty = not configured yet (``kiosk enroll`` saves it).
    server_url: str = ""
    #: The worker's own files: the device token (mode 0600), back-off state, status, pulled configuration.
    state_dir: Path = Path("/var/lib/kiosk/sync")
    #: The CA certificate(s) (PEM) the server's certificate must verify against; empty = the system's CAs.
    ca_file: Path | None = None
    #: Visits per upload request (1-500; the server takes at most 500, and a 413 halves it).
    batch_size: int = 200
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    #: Device health is reported this often.
    heartbeat_s: float = 300.0
    #: The device configuration (location, policy, trust list, deny list, roster) is asked for this often.
    config_poll_s: float = 900.0
    #: Back-off after a failure: a random wait up to base * 2**attempt, capped (full jitter).
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 900.0


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    #: The guard and admin PIN hashes (Argon2id) and the failure counter, as JSON (see kiosk/pin.py).
    #: Owned by the kiosk's service user, mode 0600; created empty when missing (the first-run set-up
    #: then asks for an admin PIN). A damaged file stops the PIN pad and is never overwritten.
    pin_file: Path = Path("/var/lib/kiosk/pins.json")


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    #: The province's identity key file (HMAC keys for identity hashes; see docs/identity-keys.md).
    #: Root-owned, readable by the kiosk's group only. Empty = the public demo key (development only).
    key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class DccConfig:
    #: JSON trust list of signer certificates (country, kid, DER base64); verification is offline.
    trust_list: Path | None = None


#: Languages the touchscreen app speaks (``ui.language``): Vietnamese by default, English complete.
UI_LANGUAGES = ("vi", "en")


@dataclass(frozen=True, slots=True)
class UiConfig:
    """The touchscreen app (``kiosk run`` without ``--headless``)."""

    #: The language the screens start in: vi | en (visitors can switch on the scan screen).
    language: str = "vi"
    #: How long a verdict stays on screen before the scan screen returns (a new code returns at once).
    result_s: float = 3.0
    #: Full screen without a window frame (false: a window, for development).
    fullscreen: bool = True
    #: Unattended: Alt+F4, Esc, Ctrl+Q, Alt+Tab, Ctrl+Alt+Fn and closing the window do nothing.
    kiosk_mode: bool = True
    #: Hide the mouse cursor (a touch screen; cage draws one on a Pi 4 unless the app hides it).
    hide_cursor: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    location: LocationConfig = field(default_factory=LocationConfig)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    decoder: DecoderOptions = field(default_factory=DecoderOptions)
    dcc: DccConfig = field(default_factory=DccConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    server: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Build the config tree. ``environ`` is passed in (the CLI gives ``os.environ``).

    Layers, each above the one before: defaults, the TOML file, ``server`` (the device configuration the
    sync worker last pulled from the provincial server, ``{section: {key: value}}``), the admin settings
    file, the environment, the command line.
    """
    env = dict(environ or {})
    source = path or (Path(env["KIOSK_CONFIG"]) if env.get("KIOSK_CONFIG") else None)
    if source is None and SYSTEM_CONFIG.is_file():
        source = SYSTEM_CONFIG
    from_file = _read_toml(source) if source is not None else {}
    sections = {f.name for f in dataclasses.fields(Config)}
    from_env: dict[str, dict[str, Any]] = {}
    for name, value in env.items():
        if not name.startswith("KIOSK_") or name == "KIOSK_CONFIG":
            continue
        section, _, key = name[len("KIOSK_") :].lower().partition("_")
        if section in sections and key:
            from_env.setdefault(section, {})[key] = value
    from_flags: dict[str, dict[str, Any]] = {}
    for dotted, value in (overrides or {}).items():
        section, dot, key = dotted.partition(".")
        if not dot or not key:
            raise ConfigError(dotted, "an override must look like section.key=value")
        from_flags.setdefault(section, {})[key] = value
    # Where the admin settings are is itself a setting of the layers around them (file, environment, flags).
    admin_path = StoreConfig().admin_settings
    for layer in (from_file, from_env, from_flags):
        store = layer.get("store")
        if isinstance(store, Mapping) and "admin_settings" in store:
            admin_path = _convert("store.admin_settings", store["admin_settings"], Path)
    merged: dict[str, dict[str, Any]] = {}
    _merge(merged, from_file, origin=str(source))
    if server:
        _merge(
            merged, {k: dict(v) for k, v in server.items()}, origin="the provincial server's configuration"
        )
    _merge(merged, read_admin_settings(admin_path), origin=str(admin_path))
    _merge(merged, from_env, origin="the environment")
    _merge(merged, from_flags, origin="the command line")
    config: Config = _build(Config, merged, "")
    validate(config)
    return config


#: What the admin screen may change, as ``section.key``: all that the admin settings file may hold.
ADMIN_KEYS = (
    "location.name",
    "location.address",
    "location.district",
    "device.direction",
    "policy.mode",
    "policy.repeat_window_s",
    "retention.days",
    "sync.server_url",
)


def admin_keys_overridden(environ: Mapping[str, str], overrides: Iterable[str] = ()) -> tuple[str, ...]:
    """The ``ADMIN_KEYS`` that ``KIOSK_*`` environment variables or ``--set`` flags set: they win over the
    admin settings file, so the admin screen says that changing them there has no effect."""
    keys = {key.strip() for key in overrides}
    for name in environ:
        if name.startswith("KIOSK_") and name != "KIOSK_CONFIG":
            section, _, key = name[len("KIOSK_") :].lower().partition("_")
            keys.add(f"{section}.{key}")
    return tuple(key for key in ADMIN_KEYS if key in keys)


def read_admin_settings(path: Path) -> dict[str, dict[str, Any]]:
    """The admin settings file as ``{section: {key: value}}`` (values as TOML gave them); ``{}`` when it
    does not exist. A key outside ``ADMIN_KEYS`` is a ConfigError naming the file and the key."""
    data = _read_toml(path, key="store.admin_settings", missing_ok=True)
    for section, values in data.items():
        if not isinstance(values, Mapping):
            raise ConfigError(_name(section), f"must be a [{_name(section)}] table in {path}")
        for key in values:
            dotted = f"{section}.{key}"
            if dotted not in ADMIN_KEYS:
                raise ConfigError(
                    _name(dotted),
                    f"cannot be set in the admin settings file {path}; allowed there: {', '.join(ADMIN_KEYS)}",
                )
    return {section: dict(values) for section, values in data.items()}


def with_settings(base: Config, data: Mapping[str, Mapping[str, Any]]) -> Config:
    """``base`` with ``{section: {key: value}}`` put in, converted and validated as at start-up."""
    sections: dict[str, Any] = {}
    for section, values in data.items():
        current = getattr(base, section)
        hints = typing.get_type_hints(type(current))
        changes = {key: _convert(f"{section}.{key}", value, hints[key]) for key, value in values.items()}
        sections[section] = dataclasses.replace(current, **changes)
    config = dataclasses.replace(base, **sections)
    validate(config)
    return config


def _read_toml(path: Path, *, key: str = "--config", missing_ok: bool = False) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        if missing_ok:
            return {}
        raise ConfigError(key, f"file {path} does not exist") from exc
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(key, f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a config file")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a BOM, as Windows editors write it
    except UnicodeDecodeError as exc:
        raise ConfigError(
            key, f"{path} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from exc
    return parse_toml(text, path, key=key)


def parse_toml(text: str, path: Path, *, key: str = "--config") -> dict[str, Any]:
    """Config text as tomllib reads it, with the start-up limits; errors name ``key`` and ``path``."""
    # tomllib takes time quadratic in the parts of one dotted key: a line is as long as a key can be.
    long = next((n for n, line in enumerate(text.splitlines(), 1) if len(line) > MAX_CONFIG_LINE), 0)
    if long:
        raise ConfigError(key, f"{path} line {long} is longer than {MAX_CONFIG_LINE} characters")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key, f"{path} is not valid TOML: {exc}") from exc
    except RecursionError as exc:  # tomllib recurses once per level of nesting
        raise ConfigError(key, f"{path} nests arrays or tables too deeply") from exc


def _merge(into: dict[str, dict[str, Any]], data: Mapping[str, Any], origin: str) -> None:
    for section, values in data.items():
        if not isinstance(values, Mapping):
            raise ConfigError(_name(section), f"must be a [{_name(section)}] table in {origin}")
        into.setdefault(section, {}).update(values)


def _build(cls: type[Any], data: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            allowed = ", ".join(sorted(known))
            raise ConfigError(prefix + _name(key), f"unknown key; allowed keys: {allowed}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        key = prefix + name
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, Mapping):
                raise ConfigError(key, "must be a table")
            kwargs[name] = _build(hint, value, key + ".")  # type: ignore[arg-type]
        else:
            kwargs[name] = _convert(key, value, hint)
    return cls(**kwargs)


def _convert(key: str, value: Any, hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        if value in ("", None):
            return None
        (hint,) = (a for a in args if a is not type(None))
    if isinstance(hint, type) and issubclass(hint, Enum):
        allowed = [m.value for m in hint]
        if isinstance(value, str) and value.lower() in allowed:
            return hint(value.lower())
        raise ConfigError(key, f"{_show(value)} is not allowed; allowed values: {', '.join(allowed)}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "true",
            "1",
            "yes",
            "on",
            "false",
            "0",
            "no",
            "off",
        ):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(key, f"{_show(value)} is not allowed; allowed values: true, false")
    if hint is int:
        return _whole_number(key, value)
    if hint is float:
        return _finite_number(key, value)
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(key, f"{_show(value)} is not a file path")
        _check_text(key, value)
        return Path(value).expanduser()
    if hint is str:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ConfigError(key, f"{_show(value)} is not text")
        _check_text(key, str(value))
        return str(value)
    raise ConfigError(key, f"unsupported type {hint}")  # pragma: no cover - a programming error


def _whole_number(key: str, value: Any) -> int:
    """An int from TOML or text; a float only when it is whole (``30.0``); never a bool."""
    number = _finite_number(key, value)  # the range is exact: it is below 2**53
    if not number.is_integer():
        raise ConfigError(key, f"{_show(value)} is not a whole number")
    return int(number)


def _finite_number(key: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(key, f"{_show(value)} is not a number") from exc
    if not -MAX_CONFIG_NUMBER <= number <= MAX_CONFIG_NUMBER:  # also NaN and infinities
        raise ConfigError(key, f"{_show(value)} is out of range; finite {_NUMBER_RANGE} are accepted")
    return number


def _check_text(key: str, text: str) -> None:
    """Config text and paths never hold control characters (a NUL cuts a path short in C)."""
    bad = next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        raise ConfigError(
            key, f"contains the control character U+{ord(bad):04X}; text and paths may not contain any"
        )


def _name(key: str) -> str:
    """A key from a file for an error message: as it is, unless it is long or holds control characters."""
    return key if key.isprintable() and len(key) <= 64 else _show(key)


def _show(value: object) -> str:
    """A value for an error message: short, on one line, whatever it holds."""
    return _REPR.repr(value)


#: Baud rates a 2D scanner's serial interface offers (scanner manuals list these; 14400 is custom on Linux).
SERIAL_BAUD_RATES = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


def validate(config: Config) -> None:
    """Check a built config tree; raises ConfigError naming the first bad key."""
    if not _CODE.fullmatch(config.location.code):
        raise ConfigError(
            "location.code",
            "1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
        )
    if not config.location.name.strip():
        raise ConfigError("location.name", "must not be empty (it is shown on screen)")
    if not _CODE.fullmatch(config.device.id):
        raise ConfigError("device.id", "1-64 letters, digits, '-', '_' or '.'")
    if not 0 <= config.policy.repeat_window_s <= 3600:
        raise ConfigError("policy.repeat_window_s", "must be between 0 and 3600 seconds")
    if not 1 <= config.retention.days <= 3650:
        raise ConfigError("retention.days", "must be between 1 and 3650")
    if config.store.min_free_mb < 0:
        raise ConfigError("store.min_free_mb", "must be 0 or more")
    decoder = config.decoder
    if not 0 < decoder.max_fallback_ms <= 1000:
        raise ConfigError(
            "decoder.max_fallback_ms", f"{decoder.max_fallback_ms:g} ms: must be above 0 and at most 1000"
        )
    if not 0 <= decoder.max_fallback_pixels <= 50_000_000:
        raise ConfigError(
            "decoder.max_fallback_pixels",
            f"{decoder.max_fallback_pixels}: must be between 0 (whole-frame fallbacks off) and 50000000",
        )
    if not 0 <= decoder.crop_margin <= 2:
        raise ConfigError(
            "decoder.crop_margin",
            f"{decoder.crop_margin:g}: must be between 0 and 2 (a fraction of the symbol)",
        )
    if not 100 <= decoder.crop_target_px <= 4000:
        raise ConfigError(
            "decoder.crop_target_px", f"{decoder.crop_target_px}: must be between 100 and 4000 pixels"
        )
    for key in ("stages", "blind_stages"):
        names = [n.strip() for n in getattr(config.decoder, key).split(",") if n.strip()]
        unknown = [n for n in names if not is_stage_name(n)]
        if unknown:
            raise ConfigError(
                f"decoder.{key}", f"unknown stage {unknown[0]!r}; see config/kiosk.example.toml"
            )
    if not 0 <= decoder.edge_fraction_min <= 1:
        raise ConfigError(
            "decoder.edge_fraction_min", f"{decoder.edge_fraction_min:g}: must be between 0 and 1"
        )
    if not 10_000 <= decoder.max_image_pixels <= MAX_IMAGE_PIXELS_CEILING:
        raise ConfigError(
            "decoder.max_image_pixels",
            f"{decoder.max_image_pixels}: must be between 10000 and {MAX_IMAGE_PIXELS_CEILING}",
        )
    camera = config.camera
    try:
        parse_camera_source(camera.source)
    except ValueError as exc:
        raise ConfigError("camera.source", str(exc)) from exc
    if not (16 <= camera.width <= 8192 and 16 <= camera.height <= 8192):
        raise ConfigError("camera.width", "width and height must be between 16 and 8192 pixels")
    for key in ("exposure", "focus"):
        try:
            parse_manual_setting(getattr(camera, key))
        except ValueError:
            raise ConfigError(f"camera.{key}", MANUAL_SETTING) from None
    if not 1 <= camera.fps <= 120:
        raise ConfigError("camera.fps", "must be between 1 and 120")
    if not 0.2 <= camera.lost_after_s <= 60:
        raise ConfigError("camera.lost_after_s", "must be between 0.2 and 60 seconds")
    if not 0.1 <= camera.reopen_max_s <= 300:
        raise ConfigError("camera.reopen_max_s", "must be between 0.1 and 300 seconds")
    for key in ("relay_pin", "green_led_pin", "red_led_pin", "buzzer_pin", "door_sensor_pin"):
        pin = getattr(config.gate, key)
        if pin and not (pin.isdigit() and 0 <= int(pin) <= 27):
            raise ConfigError(f"gate.{key}", "a BCM GPIO number 0-27, or empty for none")
    if not 0.1 <= config.gate.unlock_s <= 60:
        raise ConfigError("gate.unlock_s", "must be between 0.1 and 60 seconds")
    if config.scanner.serial_baud not in SERIAL_BAUD_RATES:
        raise ConfigError(
            "scanner.serial_baud",
            f"{config.scanner.serial_baud} is not a standard baud rate; allowed values: "
            f"{', '.join(map(str, SERIAL_BAUD_RATES))} (as set on the scanner; USB-CDC ignores it)",
        )
    _validate_sync(config.sync)
    if config.ui.language not in UI_LANGUAGES:
        raise ConfigError(
            "ui.language",
            f"{_show(config.ui.language)} is not allowed; allowed values: {', '.join(UI_LANGUAGES)}",
        )
    if not 0.5 <= config.ui.result_s <= 30:
        raise ConfigError("ui.result_s", "must be between 0.5 and 30 seconds")
    if config.policy.mode is PolicyMode.ALLOWLIST and config.policy.roster is None:
        raise ConfigError("policy.roster", "allowlist mode needs a roster file")


#: Plain http:// is allowed only to these hosts (this machine: the demo server).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def plain_http_allowed(url: str) -> bool:
    """Whether ``url`` is ``https://``, or plain ``http://`` to this machine (``LOOPBACK_HOSTS``): the one rule
    for every address the product sends records to (the kiosks' server, the province's national endpoint).
    ``ValueError`` for text that is not a URL at all."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


#: ``sync.*`` number ranges, inclusive: (low, high, unit).
_SYNC_RANGES: dict[str, tuple[float, float, str]] = {
    "batch_size": (1, 500, "visits"),
    "connect_timeout_s": (0.5, 60, "seconds"),
    "read_timeout_s": (1, 300, "seconds"),
    "heartbeat_s": (10, 86400, "seconds"),
    "config_poll_s": (30, 86400, "seconds"),
    "backoff_base_s": (0.1, 600, "seconds"),
    "backoff_cap_s": (1, 86400, "seconds"),
}


def _validate_sync(sync: SyncConfig) -> None:
    url = sync.server_url
    if url:
        try:
            parts = urlsplit(url)
            allowed = plain_http_allowed(url)
        except ValueError as exc:  # e.g. an unclosed [IPv6 bracket
            raise ConfigError("sync.server_url", f"{_show(url)} is not a URL: {exc}") from None
        if not allowed:
            raise ConfigError(
                "sync.server_url",
                f"{_show(url)}: must start with https:// (TLS is never turned off); plain http:// is allowed "
                "only to http://127.0.0.1 or http://localhost (loopback, for the demo)",
            )
        if not parts.hostname or parts.username is not None or parts.query or parts.fragment:
            raise ConfigError(
                "sync.server_url",
                f"{_show(url)}: must be a base URL such as https://kiosk.example.gov.vn "
                "(a host, no user name, query or fragment)",
            )
    for key, (low, high, unit) in _SYNC_RANGES.items():
        value = getattr(sync, key)
        if not low <= value <= high:
            raise ConfigError(f"sync.{key}", f"{value:g}: must be between {low:g} and {high:g} {unit}")
    if sync.backoff_cap_s < sync.backoff_base_s:
        raise ConfigError(
            "sync.backoff_cap_s",
            f"{sync.backoff_cap_s:g}: must be at least sync.backoff_base_s ({sync.backoff_base_s:g})",
        )
