"""Layer: hardware. Cameras behind one small protocol, chosen by ``make_camera(config)``, read by
``FrameGrabber`` (newest frame only, supervised: a lost camera is reported and reopened with back-off).
"""

from hardware.camera.base import Camera, CameraBase, FramePair
from hardware.camera.demo import DemoCamera, DemoScript
from hardware.camera.factory import make_camera
from hardware.camera.grabber import FrameGrabber
from hardware.camera.opencv import OpenCVCamera
from hardware.camera.picamera2 import Picamera2Camera
from hardware.camera.replay import ReplayCamera

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
    "make_camera",
]
