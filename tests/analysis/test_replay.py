"""Training replays: a replay file is data, never a pickle."""

from explorer.analysis import replay
from tests.hostile import evil_pickle


def test_training_replays_never_unpickle(tmp_path, marker):
    folder = tmp_path / "run"
    folder.mkdir()
    replay.replay_file(folder).write_bytes(evil_pickle(marker))
    assert replay.load_replay(folder) is None
