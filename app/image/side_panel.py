"""The column beside the image: the colour controls, the palette and the K curve on two pages,
and the statistics.  It only builds and lays out the widgets; the tab connects them."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QTabWidget, QVBoxLayout, QWidget

from app.image.controls import ColourControls
from app.image.k_curve import KCurve
from app.image.palette_view import PaletteView
from app.image.stats_panel import StatsPanel

WIDTH = 372


class SidePanel(QWidget):
    """``controls``, ``palette_view`` with ``pick_button`` and ``unlock_button``, ``k_curve`` with
    ``curve_measure``, in ``side_tabs``; ``stats`` below."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sidePanel")
        self.controls = ColourControls()
        self.palette_view = PaletteView()
        self.stats = StatsPanel()
        self.k_curve = KCurve()
        self.curve_measure = QComboBox()
        self.curve_measure.setObjectName("curveMeasure")
        self.curve_measure.setAccessibleName("Quality measure on the curve")
        self.curve_measure.setToolTip("What the curve's left axis shows: mean CIEDE2000 difference (lower is "
                                      "better) or PSNR (higher is better)")
        self.curve_measure.addItem("ΔE (CIEDE2000)", "delta_e")
        self.curve_measure.addItem("PSNR", "psnr")
        self.curve_measure.currentIndexChanged.connect(
            lambda: self.k_curve.set_measure(str(self.curve_measure.currentData())))
        self.pick_button = QPushButton("Pick a colour")
        self.pick_button.setObjectName("eyedropper")
        self.pick_button.setCheckable(True)
        self.pick_button.setAccessibleName("Eyedropper")
        self.pick_button.setToolTip("Click a pixel of the image to lock its colour (Ctrl+I)")
        self.pick_button.setShortcut("Ctrl+I")  # (a bare letter would be typed into a focused box)
        self.unlock_button = QPushButton("Unlock all")
        self.unlock_button.setObjectName("unlockAll")
        self.unlock_button.setAccessibleName("Unlock every colour")
        self.unlock_button.setToolTip("Let k-means move every colour again")
        self.unlock_button.setEnabled(False)
        self.side_tabs = QTabWidget()
        self.side_tabs.setObjectName("sideTabs")
        self.side_tabs.addTab(self._palette_page(), "Palette")
        self.side_tabs.setTabToolTip(0, "The palette: click a colour to see where it is used")
        self.side_tabs.addTab(self._curve_page(), "Choosing K")
        self.side_tabs.setTabToolTip(1, "Quality and file size against K for this image; click to choose K")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.controls)
        layout.addWidget(self.side_tabs, 1)
        layout.addWidget(self.stats)
        self.setFixedWidth(WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def _palette_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.palette_view)
        row = QHBoxLayout()
        row.addWidget(self.pick_button)
        row.addWidget(self.unlock_button)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    def _curve_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 6, 6, 6)
        row = QHBoxLayout()
        row.addWidget(QLabel("Quality as"))
        row.addWidget(self.curve_measure, 1)
        layout.addLayout(row)
        layout.addWidget(self.k_curve, 1)
        return page
