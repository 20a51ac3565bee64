"""The GPU monitor, the user-idle detectors and the idle policy.

``open_backend`` gives a :class:`~engine.gpu.monitor.GpuBackend` (NVML, CPU mode, "no GPU",
or a scripted simulation when asked for one); ``default_chain`` tells how long the user has
been idle; ``on_battery`` whether we run on battery; :class:`~engine.gpu.policy.IdlePolicy`
turns all of that into a :class:`~engine.gpu.policy.Decision` to run, pause or wait.
"""

from engine.gpu.backend import open_backend
from engine.gpu.errors import GpuError, TimelineError
from engine.gpu.monitor import DeviceSnapshot, GpuBackend, GpuProcess, GpuSnapshot, NoGpu
from engine.gpu.policy import Action, Decision, IdlePolicy, Rule
from engine.gpu.power import on_battery
from engine.gpu.settings import GpuSettings, PolicySettings, load_gpu_settings, load_policy_settings
from engine.gpu.useridle import IdleChain, default_chain

__all__ = [
    "Action",
    "Decision",
    "DeviceSnapshot",
    "GpuBackend",
    "GpuError",
    "GpuProcess",
    "GpuSettings",
    "GpuSnapshot",
    "IdleChain",
    "IdlePolicy",
    "NoGpu",
    "PolicySettings",
    "Rule",
    "TimelineError",
    "default_chain",
    "load_gpu_settings",
    "load_policy_settings",
    "on_battery",
    "open_backend",
]
