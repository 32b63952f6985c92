"""Follow the teacher, in the class store: one row per class that only the teacher may write, a
version that moves only when the view changes, the viewer's own choices never shared, and a
second server (replica) on the same database that sees a change within its reading cadence. On
SQLite, and on a real PostgreSQL server in the slow tier (as the rest of the class store)."""

import pytest
from sqlalchemy import inspect
from test_classroom import db_url, pg_server  # noqa: F401 - SQLite, and PostgreSQL (slow tier)

from explorer.classroom import ClassError, ClassStore, TeacherRefused, follow
from explorer.classroom.migrate import migrate

KEY = "follow-teacher-key"


@pytest.fixture
def store(db_url, runs):  # noqa: F811 - the fixture imported above
    follow.forget_copies()
    return ClassStore(db_url, teacher_key=KEY, runs=runs)


@pytest.fixture
def klass(store):
    return store.open_class("Autoencoders, week 3", key=KEY)


def test_only_the_teacher_moves_the_class(store, klass):
    view = follow.View.of("compare", {"compare_n": "12"})
    with pytest.raises(TeacherRefused):
        follow.publish(store, klass.id, view, key=None)
    with pytest.raises(TeacherRefused):
        follow.publish(store, klass.id, view, key="a guess", caller="student")
    with pytest.raises(TeacherRefused):
        follow.stop(store, klass.id, key="a guess", caller="student")
    assert follow.read(store, klass.id) is None  # nothing was written


def test_the_version_moves_only_when_the_view_changes(store, klass):
    first = follow.publish(store, klass.id, follow.View.of("map", {"model": "pretrained/vae"}),
                           key=KEY)
    assert (first.active, first.view.page, first.version) == (True, "map", 1)
    same = follow.publish(store, klass.id, follow.View.of("map", {"model": "pretrained/vae"}),
                          key=KEY)
    assert same.version == 1
    moved = follow.publish(store, klass.id, follow.View.of(
        "interpolate", {"model": "pretrained/vae", "interp_a": "3", "interp_b": "103"}), key=KEY)
    assert moved.version == 2
    assert follow.read(store, klass.id).view.as_dict() == {
        "interp_a": ["3"], "interp_b": ["103"], "model": ["pretrained/vae"]}
    stopped = follow.stop(store, klass.id, key=KEY)
    assert (stopped.active, stopped.version, stopped.view.page) == (False, 3, "interpolate")
    again = follow.publish(store, klass.id, moved.view, key=KEY)
    assert (again.active, again.version) == (True, 4)


def test_presenter_mode_is_the_viewers_own_and_several_values_keep_their_order(store, klass):
    view = follow.View.of("map", {"present": "true", "map_dims": ["2", "0"], "model": "m"})
    assert view.as_dict() == {"map_dims": ["2", "0"], "model": ["m"]}
    assert view.query() == "map_dims=2&map_dims=0&model=m"
    assert follow.View.of("map", {"model": "m", "map_dims": ["2", "0"]}) == view
    lead = follow.publish(store, klass.id, view, key=KEY)
    assert "present" not in follow.read(store, klass.id).view.as_dict()
    assert lead.view == view


def test_a_huge_view_or_an_unknown_class_gets_a_sentence(store, klass):
    with pytest.raises(ClassError, match="too long"):
        follow.publish(store, klass.id, follow.View.of("map", {"x": "9" * 10_000}), key=KEY)
    with pytest.raises(ClassError, match="no such class"):
        follow.publish(store, klass.id + 99, follow.View.of("map"), key=KEY)
    assert follow.read(store, klass.id) is None


def test_a_second_server_sees_the_change_within_its_reading_cadence(store, klass, runs,
                                                                    monkeypatch):
    replica = ClassStore(store.url, teacher_key=KEY, runs=runs)  # another server's door
    assert follow.latest(replica, klass.id) is None
    follow.publish(store, klass.id, follow.View.of("sample", {"sample_seed": "7"}), key=KEY)
    # This process's copy for the publishing store is fresh at once; the replica's copy is the
    # one it read, until it is older than the cadence.
    assert follow.latest(store, klass.id, max_age_s=3600).version == 1
    assert follow.latest(replica, klass.id, max_age_s=3600) is None
    seen = follow.latest(replica, klass.id, max_age_s=0.0)
    assert seen.version == 1 and seen.view.as_dict() == {"sample_seed": ["7"]}


def test_the_migration_adds_the_follow_row_and_takes_it_away(store):
    assert "follow_state" in inspect(store.engine).get_table_names()
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(follow.__file__).replace(
        "follow.py", "migrations"))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert "follow_state" not in inspect(store.engine).get_table_names()
    migrate(store.engine)
    assert "follow_state" in inspect(store.engine).get_table_names()
