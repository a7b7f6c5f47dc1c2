"""Config section ``detection``: the timing rules of the charger state machine.

Beside the state machine that follows them; :meth:`DetectionConfig.rules` hands it the
plain :class:`~shared.charger.transition.Detection` it takes, so the rules never see pydantic.
"""

from __future__ import annotations

from datetime import timedelta

from shared.charger.transition import Detection
from shared.config.fields import ConfigModel, Duration, OffDuration

__all__ = ["DetectionConfig"]


class DetectionConfig(ConfigModel):
    """Timing of the event core; the comments say what each bounds."""

    session_settle: Duration = timedelta(minutes=2)  # wait for a 723 after 710 -> 1
    silence_after: OffDuration = timedelta(hours=1)  # silent this long: offline (off: never)
    match_tolerance: Duration = timedelta(minutes=2)  # 723 start vs tracked start

    def rules(self) -> Detection:
        return Detection(self.session_settle, self.silence_after, self.match_tolerance)
