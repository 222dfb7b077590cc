from . import cycle_report
