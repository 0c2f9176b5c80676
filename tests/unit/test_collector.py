"""shared/collector.py: what start-up built is no longer walked by the cyclic collector's full collections."""

import gc

from shared import collector


class Garbage:
    """A cycle only the cyclic collector frees."""

    def __init__(self):
        self.me = self


def test_freezing_collects_the_garbage_then_moves_what_is_alive_out_of_the_collectors_reach():
    built_at_start_up: list[object] = []
    Garbage()
    try:
        collector.freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert not any(o is built_at_start_up for o in gc.get_objects())  # in the permanent generation now
    finally:
        gc.unfreeze()
    assert any(o is built_at_start_up for o in gc.get_objects())
    assert not any(isinstance(o, Garbage) for o in gc.get_objects())  # collected, not frozen for good
