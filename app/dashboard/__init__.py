"""The dashboard window and its panels (current job, GPU, history, earnings, event log)."""

from app.dashboard.window import DashboardWindow

__all__ = ["DashboardWindow"]
