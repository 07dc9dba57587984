"""One registry of device back ends: what the configuration accepts is exactly what the factories build."""

from __future__ import annotations

import pytest

from hardware.camera import factory as camera_factory
from hardware.scanner import BUILDERS as SCANNER_BUILDERS
from kiosk.config import load_config
from kiosk.device import CAMERA_BACKENDS, SCANNER_BACKENDS, parse_camera_source
from kiosk.errors import ConfigError


def test_every_registered_camera_backend_has_a_builder_and_nothing_else_does() -> None:
    assert set(camera_factory.BUILDERS) | {"auto"} == {b.name for b in CAMERA_BACKENDS}


def test_every_registered_scanner_backend_has_a_builder_and_a_config_key() -> None:
    assert set(SCANNER_BUILDERS) == set(SCANNER_BACKENDS)
    config = load_config(environ={})
    for key in SCANNER_BACKENDS.values():
        assert getattr(config.scanner, key) == ""


@pytest.mark.parametrize(
    ("source", "name", "argument"),
    [
        ("auto", "auto", ""),
        ("picamera2", "picamera2", ""),
        ("opencv", "opencv", ""),
        ("opencv:/dev/v4l/by-id/usb-cam-video-index0", "opencv", "/dev/v4l/by-id/usb-cam-video-index0"),
        ("replay:/srv/frames", "replay", "/srv/frames"),
        (" demo ", "demo", ""),
    ],
)
def test_camera_sources_parse(source: str, name: str, argument: str) -> None:
    backend, parsed = parse_camera_source(source)
    assert (backend.name, parsed) == (name, argument)


@pytest.mark.parametrize("source", ["", "webcam", "replay", "replay:", "demo:x", "auto:1", "scripted"])
def test_unknown_camera_sources_name_every_accepted_form(source: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, overrides={"camera.source": source})
    message = str(caught.value)
    assert message.startswith("config camera.source:")
    for usage in ("auto", "picamera2", "opencv[:DEVICE]", "replay:PATH", "demo"):
        assert usage in message
