"""Layer: hardware. Cameras behind one small protocol, chosen by ``make_camera(config)``, read by
``FrameGrabber`` (newest frame only, supervised: a lost camera is reported and reopened with back-off).

``ScriptedCamera`` is the test double every layer's tests share; only a test constructs it (``make_camera``
never does).
"""

from hardware.camera.base import Camera, CameraBase, FramePair
from hardware.camera.demo import DemoCamera, DemoScript
from hardware.camera.factory import make_camera
from hardware.camera.grabber import FrameGrabber
from hardware.camera.opencv import OpenCVCamera
from hardware.camera.picamera2 import Picamera2Camera
from hardware.camera.replay import ReplayCamera
from hardware.camera.scripted import ScriptedCamera, ScriptedMode

__all__ = [
    "Camera",
    "CameraBase",
    "DemoCamera",
    "DemoScript",
    "FrameGrabber",
    "FramePair",
    "OpenCVCamera",
    "Picamera2Camera",
    "ReplayCamera",
    "ScriptedCamera",
    "ScriptedMode",
    "make_camera",
]
