"""Under the canvas, for an animation: play and pause, a slider over its frames, and where it is."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from kmeans.animation import Animation

#: The shortest time a frame is shown while playing: browsers show a GIF's quicker frames for 100 ms,
#: and a timer much faster than the screen only costs the window.
MIN_FRAME_MS = 20


class FrameBar(QWidget):
    """Hidden for a still image.  ``frame_changed`` says which frame to show, whether the slider was
    moved or the animation is playing (its own durations, looped)."""

    frame_changed = Signal(int)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("frameBar")
        self.play_button = QToolButton()
        self.play_button.setObjectName("framePlayButton")
        self.play_button.setCheckable(True)
        self.play_button.setAutoRaise(True)
        self.play_button.toggled.connect(self._play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("frameSlider")
        self.slider.setAccessibleName("Frame of the animation")
        self.slider.setToolTip("The frame shown: the image, the comparison and the frame's statistics follow it "
                               "(arrow keys step one frame)")
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self._moved)
        self.label = QLabel()
        self.label.setObjectName("frameLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next)
        self._animation: Animation | None = None
        self._show_play_state(False)
        self.hide()

    @property
    def frame(self) -> int:
        return self.slider.value()

    @property
    def playing(self) -> bool:
        return self.play_button.isChecked()

    def set_animation(self, animation: Animation | None) -> None:
        """Show the bar at frame 1 of ``animation``, paused; hide it for None (a still image)."""
        self.play_button.setChecked(False)
        self._animation = animation
        frames = 1 if animation is None else animation.frames
        self.slider.blockSignals(True)
        self.slider.setRange(0, frames - 1)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.setVisible(animation is not None)
        self._say()

    def set_frame(self, index: int) -> None:
        self.slider.setValue(index)

    @Slot(bool)
    def _play_toggled(self, on: bool) -> None:
        self._show_play_state(on)
        if on and self._animation is not None:
            self._timer.start(self._duration(self.frame))
        else:
            self._timer.stop()
        self.playing_changed.emit(on)

    def _show_play_state(self, on: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        words = "Pause the animation" if on else "Play the animation (its own timing, looped)"
        self.play_button.setToolTip(words)
        self.play_button.setAccessibleName(words)

    def _duration(self, index: int) -> int:
        assert self._animation is not None
        return max(MIN_FRAME_MS, self._animation.durations[index])

    def _next(self) -> None:
        if self._animation is None or not self.playing:
            return
        self.slider.setValue((self.frame + 1) % self._animation.frames)
        self._timer.start(self._duration(self.frame))

    def _moved(self, index: int) -> None:
        self._say()
        self.frame_changed.emit(index)

    def _say(self) -> None:
        if self._animation is None:
            self.label.clear()
            return
        index = self.frame
        self.label.setText(f"Frame {index + 1} of {self._animation.frames} · "
                           f"{self._animation.durations[index]} ms")
