"""The class store, on SQLite and on a real PostgreSQL server: joining by name, identity that
survives a reload, the teacher key, who may delete what, runs' records and the CSV export."""

import json
import threading

import pytest
from pgserver import PgServer, find_bin
from sqlalchemy import create_engine, text

from explorer.classroom import ClassError, ClassStore, TeacherRefused
from explorer.classroom import dashboard as board
from explorer.classroom.identity import GUESSES

KEY = "correct horse battery staple"


@pytest.fixture(scope="session")
def pg_server():
    if not (find_bin("initdb") and find_bin("pg_ctl")):
        pytest.skip("PostgreSQL is not installed here (initdb/pg_ctl missing): "
                    "scripts/setup.sh --test installs it")
    server = PgServer().start()
    yield server
    server.stop()


# PostgreSQL is a server the test starts: the slow tier (the fast one starts no process).
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request, runs):
    if request.param == "sqlite":
        return f"sqlite:///{runs / 'classroom.sqlite3'}"
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture
def open_db(db_url, runs):
    """Open the store as a server would at start-up (migrations run on open)."""
    return lambda key=None: ClassStore(db_url, teacher_key=key, runs=runs)


def test_a_student_joins_by_name_and_keeps_their_identity_across_a_restart(open_db, db_url):
    store = open_db()
    klass = store.open_class("Autoencoders, week 3")
    student, token = store.join(klass.code.lower(), "  Ada   Lovelace ")
    assert student.name == "Ada Lovelace"
    restarted = open_db()  # a new server process: same class, same roster, same identity
    assert restarted.student(token) == student
    assert [s.name for s in restarted.roster(klass.id)] == ["Ada Lovelace"]
    assert restarted.class_by_code(klass.code).name == "Autoencoders, week 3"
    # The server keeps only the token's hash: the token itself is nowhere in the database.
    with create_engine(db_url).connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM students")).scalar()
    assert stored and token not in stored


def test_bad_names_get_a_sentence_and_markup_is_kept_as_text(open_db):
    store = open_db()
    code = store.open_class("Week 3").code
    store.join(code, "Ada")
    with pytest.raises(ClassError, match="already called"):
        store.join(code, "ADA")  # the same name in another case
    with pytest.raises(ClassError, match="keep it to 40"):
        store.join(code, "x" * 10_000)
    with pytest.raises(ClassError, match="Type a name"):
        store.join(code, "\u202e\u200b\x00\t ")
    rtl, _ = store.join(code, "Bob\u202eevil\x07")
    assert rtl.name == "Bobevil"  # the right-to-left override and the bell are gone
    md, _ = store.join(code, "**bold** <b>x</b>")
    assert md.name == "**bold** <b>x</b>"  # stored as typed: the page shows it as text
    with pytest.raises(ClassError, match="no class with that code"):
        store.join("NOPE99", "Eve")


def test_two_students_joining_with_one_name_at_the_same_instant_one_is_refused(open_db):
    store = open_db()
    code = store.open_class("Week 3").code
    barrier, results = threading.Barrier(4), []

    def join(name):
        barrier.wait()
        try:
            results.append(store.join(code, name)[0].name)
        except ClassError as e:
            results.append(str(e))

    threads = [threading.Thread(target=join, args=(n,)) for n in ("Kim", "kim", "KIM", "Kim")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum("already called" in r for r in results) == 3, results
    assert len(store.roster(store.class_by_code(code).id)) == 1


def test_forged_stale_and_removed_identities_are_nobody(open_db):
    store = open_db()
    klass = store.open_class("Week 3")
    student, token = store.join(klass.code, "Ada")
    assert store.student("forged-token") is None and store.student("") is None
    assert store.student("x" * 10_000) is None
    store.remove_student(student.id)  # no key configured: single use has every power
    assert store.student(token) is None
    again, _ = store.join(klass.code, "Ada")  # the name is free again
    assert again.name == "Ada"


def test_teacher_only_actions_are_refused_in_the_backend_without_the_key(open_db):
    store = open_db(KEY)
    with pytest.raises(TeacherRefused):
        store.open_class("Week 3")
    with pytest.raises(TeacherRefused):
        store.open_class("Week 3", key="guess", caller="tab-a")
    klass = store.open_class("Week 3", key=KEY)
    student, token = store.join(klass.code, "Ada")
    with pytest.raises(TeacherRefused):
        store.remove_student(student.id, key=None)
    with pytest.raises(TeacherRefused):
        board.export_csv(store, klass.id, key="guess")
    with pytest.raises(TeacherRefused):
        store.close_class(klass.id, key=token)  # a student's token is not the key
    store.close_class(klass.id, key=KEY)
    with pytest.raises(ClassError, match="closed"):
        store.join(klass.code, "Bob")


def test_guessing_the_teacher_key_is_rate_limited(open_db):
    store = open_db(KEY)
    for i in range(GUESSES):
        assert not store.is_teacher(f"guess {i}", caller="mallory")
    with pytest.raises(TeacherRefused, match="Too many"):
        store.gate.require(KEY, caller="mallory")  # even the right key, for a while
    assert store.is_teacher(KEY, caller="the teacher")  # another caller is not held up


def test_a_key_printed_by_class_new_is_kept_as_a_hash(open_db, db_url):
    store = open_db()
    key = store.new_teacher_key()
    reopened = open_db()
    assert reopened.gate.configured and reopened.is_teacher(key)
    assert not reopened.is_teacher("wrong")
    with create_engine(db_url).connect() as conn:
        assert key not in conn.execute(text("SELECT value FROM settings")).scalar()


def _finished_run(store, klass, student, runs, name, rate=5.0):
    folder = runs / name
    folder.mkdir()
    record = store.start_run(klass.id, student.id if student else None, name, "digits", "vae",
                             {"train": {"epochs": 3}}, 3)
    store.update_run(record, status="finished", epoch=3, saved_path=str(folder),
                     metrics={"rate": rate, "distortion": 20.0, "neg_elbo": rate + 20.0},
                     append_history={"epoch": 3, "loss": 25.0})
    return record, folder


def test_a_student_deletes_only_their_own_runs_and_the_teacher_any(open_db, runs):
    store = open_db(KEY)
    klass = store.open_class("Week 3", key=KEY)
    ada, ada_token = store.join(klass.code, "Ada")
    bob, bob_token = store.join(klass.code, "Bob")
    ada_run, ada_folder = _finished_run(store, klass, ada, runs, "ada-run")
    bob_run, bob_folder = _finished_run(store, klass, bob, runs, "bob-run")
    with pytest.raises(TeacherRefused):
        store.delete_run(bob_run, token=ada_token)  # a forged request for another's run
    assert bob_folder.is_dir() and store.run(bob_run)
    store.delete_run(ada_run, token=ada_token)
    assert not ada_folder.exists() and store.run(ada_run) is None
    store.hide_run(bob_run, key=KEY)
    assert store.runs(klass.id) == [] and store.runs(klass.id, include_hidden=True)
    store.delete_run(bob_run, key=KEY)
    assert not bob_folder.exists()


def test_the_dashboard_has_one_row_per_student_and_the_export_no_secret(open_db, runs):
    store = open_db(KEY)
    klass = store.open_class("Week 3", key=KEY)
    ada, ada_token = store.join(klass.code, "Ada")
    eve, eve_token = store.join(klass.code, "=HYPERLINK(1)")
    store.join(klass.code, "Cy")
    _finished_run(store, klass, ada, runs, "ada-run", rate=6.0)
    record = store.start_run(klass.id, eve.id, "eve-run", "digits", "vae", {}, 40)
    store.update_run(record, status="running", epoch=8, epochs=40,
                     append_history={"epoch": 8, "loss": 30.0, "recon": 25.0, "kl": 5.0})
    rows = {r["student"]: r for r in board.rows(store, klass.id)}
    assert rows["Ada"]["state"] == "finished (3 epochs)" and rows["Ada"]["rate"] == 6.0
    assert rows["=HYPERLINK(1)"]["state"] == "running, epoch 8 of 40"
    assert rows["=HYPERLINK(1)"]["neg_elbo"] == 30.0
    assert rows["Cy"]["state"] == "not training yet"
    store.update_run(record, status="tab_closed")
    assert store.run(record).ending() == "stopped because the tab closed, after 8 of 40 epochs"
    csv_text = board.export_csv(store, klass.id, key=KEY)
    assert "Ada" in csv_text and "'=HYPERLINK(1)" in csv_text  # not a spreadsheet formula
    for secret in (KEY, ada_token, eve_token):
        assert secret not in csv_text
    points = board.rd_points(store, klass.id)
    assert {p["student"] for p in points} == {"Ada", "=HYPERLINK(1)"}


def test_class_new_on_the_command_line_prints_the_code_and_a_key_once(runs, run_cli, monkeypatch):
    def printed(argv: list[str], status: int) -> str:
        ran = run_cli(argv)
        assert ran.status == status, ran.err
        return ran.out

    monkeypatch.delenv("EXPLORER_TEACHER_KEY", raising=False)
    monkeypatch.delenv("EXPLORER_DATABASE_URL", raising=False)
    out = printed(["class", "new", "Autoencoders, week 3"], 0)
    key = out.strip().splitlines()[-1].strip()
    code = out.split("Join code: ")[1].split()[0]
    assert f"/join?code={code}" in out and key not in out.split("Teacher key")[0]
    store = ClassStore(f"sqlite:///{runs / 'classroom.sqlite3'}")
    assert store.is_teacher(key) and store.class_by_code(code).name == "Autoencoders, week 3"
    assert key not in printed(["class", "new", "Another"], 2)  # the key is not printed again
    monkeypatch.setenv("EXPLORER_TEACHER_KEY", key)
    assert key not in printed(["class", "new", "Another"], 0)


def test_no_token_or_key_reaches_a_log_line(open_db, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # every statement logged
    try:
        store = open_db(KEY)
        klass = store.open_class("Week 3", key=KEY)
        student, token = store.join(klass.code, "Ada")
        store.student(token)
        store.is_teacher("a guess")
        board.export_csv(store, klass.id, key=KEY)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert caplog.records, "statements were logged"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in logged and KEY not in logged


def test_a_locked_database_gets_a_sentence(runs):
    import sqlite3

    url = f"sqlite:///{runs / 'classroom.sqlite3'}"
    store = ClassStore(url)
    code = store.open_class("Week 3").code
    holder = sqlite3.connect(runs / "classroom.sqlite3", timeout=0)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the file
    try:
        with pytest.raises(ClassError, match="busy or cannot be reached"):
            store.join(code, "Ada")
    finally:
        holder.rollback()
        holder.close()
    assert store.join(code, "Ada")[0].name == "Ada"


@pytest.mark.slow
def test_postgresql_going_away_mid_class_then_rows_catch_up(pg_server):
    """The server stops mid-class: the page gets a sentence, the recorder keeps the rows, and
    they are written when PostgreSQL is back."""
    from explorer.classroom.recorder import Recorder

    server = PgServer().start()  # its own server: the shared one stays up for other tests
    try:
        store = ClassStore(server.new_database())
        klass = store.open_class("Week 3")
        ada, token = store.join(klass.code, "Ada")
        record = store.start_run(klass.id, ada.id, "ada-run", "digits", "vae", {}, 3)
        recorder = Recorder(store)
        server.pause()
        with pytest.raises(ClassError, match="cannot be reached"):
            store.student(token)
        recorder._put(record, {"status": "running", "epoch": 1,
                               "append_history": {"epoch": 1, "loss": 30.0}})
        assert not recorder.flush(timeout=2) and "training goes on" in recorder.trouble
        server.resume()
        assert recorder.flush(timeout=30)
        run = store.run(record)
        assert (run.status, run.epoch, len(run.history)) == ("running", 1, 1)
        assert store.student(token) == ada and recorder.trouble == ""
    finally:
        server.stop()


def test_replicas_opening_one_database_together_migrate_it_once(db_url, runs):
    """Several app replicas start at the same moment against one database."""
    stores, errors = [], []
    barrier = threading.Barrier(3)

    def open_one():
        barrier.wait()
        try:
            stores.append(ClassStore(db_url, runs=runs))
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(stores) == 3
    code = stores[0].open_class("Week 3").code
    assert stores[2].class_by_code(code).name == "Week 3"


def test_a_key_made_while_the_server_runs_takes_effect_at_once(open_db):
    server = open_db()  # started with no key: single use, every power
    assert server.is_teacher(None)
    key = open_db().new_teacher_key()  # `class new` in a shell meanwhile
    assert not server.is_teacher(None) and server.is_teacher(key)
    with pytest.raises(TeacherRefused):
        server.open_class("Week 4")


def test_the_class_plane_names_each_point_as_typed_and_joins_none():
    from explorer.figures import classroom as figures_class

    points = [{"student": "<b>Bo</b>", "run": "r1", "rate": 5.0, "distortion": 90.0},
              {"student": "Ada", "run": "r2", "rate": 9.0, "distortion": 80.0},
              {"student": "Cy", "run": "r3", "rate": None, "distortion": None}]
    fig = figures_class.class_rd_figure(points)
    assert [t.text[0] for t in fig.data] == ["&lt;b&gt;Bo&lt;/b&gt;", "Ada"]  # shown as typed
    assert all(t.mode == "markers+text" for t in fig.data), "no line joins the class's points"
    assert len({t.marker.color for t in fig.data}) == 2, "each student their own colour"


def test_deleting_a_class_removes_its_roster_records_and_run_folders_teacher_only(open_db, runs):
    from explorer.classroom.deletion import delete_class, summary

    store = open_db(KEY)
    week3, week4 = (store.open_class(n, key=KEY) for n in ("Week 3", "Week 4"))
    ada, ada_token = store.join(week3.code, "Ada")
    bob, _ = store.join(week4.code, "Bob")
    folders = {}
    for who, klass, name, status in ((ada, week3, "ada-run", "finished"),
                                     (ada, week3, "ada-live", "running"),
                                     (bob, week4, "bob-run", "finished")):
        (runs / name).mkdir()
        (runs / name / "card.json").write_text("{}")
        folders[name] = store.start_run(klass.id, who.id, name, "digits", "vae", {}, 3)
        store.update_run(folders[name], status=status, saved_path=str(runs / name))
    assert summary(store, week3.id) == (1, 2, 1)
    with pytest.raises(TeacherRefused):  # a student (or anyone without the key) may not
        delete_class(store, week3.id, key=None, caller="ada")
    assert store.get_class(week3.id) is not None

    gone = delete_class(store, week3.id, key=KEY)
    assert (gone.name, gone.students, gone.runs, gone.folders) == ("Week 3", 1, 2, 1)
    assert gone.active == (folders["ada-live"],)  # its job is the server's to stop
    assert store.class_by_code(week3.code) is None and store.student(ada_token) is None
    assert store.runs(week3.id, include_hidden=True) == []
    assert not (runs / "ada-run").exists()
    # The running run's folder goes when its job saves (the recorder finds no record).
    assert store.update_run(folders["ada-live"], status="finished") is False
    # The other class is untouched, and a class's name is free to join again.
    assert [s.name for s in store.roster(week4.id)] == ["Bob"]
    assert (runs / "bob-run").is_dir() and store.run(folders["bob-run"]).student == "Bob"
    with pytest.raises(ClassError, match="no such class"):
        delete_class(store, week3.id, key=KEY)


def test_only_the_teacher_adds_datasets_and_shared_models_unless_students_are_allowed(
        open_db, monkeypatch):
    from explorer.classroom import powers

    monkeypatch.delenv(powers.ENV, raising=False)
    store = open_db(KEY)
    klass = store.open_class("Week 3", key=KEY)
    _, token = store.join(klass.code, "Ada")
    with pytest.raises(ClassError, match="Only the teacher may add datasets"):
        powers.require_adder(store, "datasets", token=token, caller="ada")
    with pytest.raises(ClassError, match="Only the teacher may add shared models"):
        powers.require_adder(store, "shared models", caller="someone")
    powers.require_adder(store, "datasets", key=KEY)  # the teacher may
    with pytest.raises(TeacherRefused):  # and only the teacher may allow students
        powers.allow_students(store, True, key=None, caller="ada")
    powers.allow_students(store, True, key=KEY)
    powers.require_adder(open_db(KEY), "datasets", token=token)  # kept in the database
    with pytest.raises(ClassError):  # still not someone who is not in a class
        powers.require_adder(store, "datasets", token="forged")
    powers.allow_students(store, False, key=KEY)
    with pytest.raises(ClassError):
        powers.require_adder(store, "datasets", token=token)
    monkeypatch.setenv(powers.ENV, "1")  # allowed for good at start-up
    powers.require_adder(store, "datasets", token=token)
    powers.require_adder(open_db(), "datasets")  # no key configured: one person keeps every power


def test_class_delete_on_the_command_line_asks_for_the_code(runs, run_cli, monkeypatch):
    monkeypatch.delenv("EXPLORER_DATABASE_URL", raising=False)
    monkeypatch.setenv("EXPLORER_TEACHER_KEY", KEY)
    store = ClassStore(f"sqlite:///{runs / 'classroom.sqlite3'}", teacher_key=KEY, runs=runs)
    klass = store.open_class("Week 3", key=KEY)
    store.join(klass.code, "Ada")
    monkeypatch.setattr("builtins.input", lambda prompt: "WRONG")
    ran = run_cli(["class", "delete", klass.code])
    assert ran.status == 1 and "1 students, 0 runs" in ran.out
    assert store.get_class(klass.id) is not None
    monkeypatch.setattr("builtins.input", lambda prompt: klass.code.lower())
    ran = run_cli(["class", "delete", klass.code])
    assert ran.status == 0 and "Deleted “Week 3”: 1 students" in ran.out
    assert store.get_class(klass.id) is None


def test_figures_redrawn_every_few_seconds_are_the_ones_plotly_would_check_and_build():
    """The live loss curves and the dashboard's charts skip plotly's checks (they are redrawn
    every few seconds for every student): checked again here, they come out identical."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from explorer.figures.plots import loss_figure
    from explorer.jobs.spec import JobState

    def checked(fig) -> dict:  # what reaches the browser (key order aside)
        return json.loads(pio.to_json(fig))

    state = JobState(epochs=4)
    state.steps_per_epoch = 10
    state.steps = [{"step": i, "loss": 9.0 - i / 10, "kl": 2.0, "recon": 7.0 - i / 10}
                   for i in range(1, 31)]
    state.history = [{"epoch": e, "test": {"loss": 8.0 - e, "kl": 2.0, "recon": 6.0 - e}}
                     for e in (1, 2, 3)]
    curves = [{"student": "<b>Ada</b>", "run": "a", "epochs": [1, 2], "loss": [3.0, 2.0]},
              {"student": "Bob", "run": "b", "epochs": [1], "loss": [4.0]}]
    points = [{"student": "Ada", "run": "a", "rate": 5.0, "distortion": 90.0}]
    for likelihood in ("bernoulli", "gaussian"):
        fig = loss_figure(state, likelihood)
        assert [t.name for t in fig.data] == ["train (per step)", "test (per epoch)"] * 3
        assert list(fig.data[3].y) == [6.0 - e for e in (1, 2, 3)]  # recon's test points
        assert checked(fig) == checked(go.Figure(fig.to_dict()))
    from explorer.figures import classroom as figures_class

    for fig in (figures_class.class_curves_figure(curves), figures_class.class_rd_figure(points)):
        assert checked(fig) == checked(go.Figure(fig.to_dict()))


def test_the_pickers_groups_hide_what_the_teacher_hid_from_classmates_only(open_db, runs):
    from types import SimpleNamespace

    from explorer.classroom import picker

    store = open_db()
    klass = store.open_class("Week 3")
    ada, _ = store.join(klass.code, "Ada")
    bob, _ = store.join(klass.code, "Bob")
    record = store.start_run(klass.id, bob.id, "bob-run", "digits", "vae", {}, 40)
    store.update_run(record, status="stopped", epoch=8, saved_path=str(runs / "bob-run"),
                     hidden=True)

    def entry(source, name, card=None):
        return SimpleNamespace(id=f"{source}/{name}", source=source, name=name,
                               path=runs / name, card=card or {})

    entries = [entry("pretrained", "vae"), entry("runs", "bob-run"),
               entry("runs", "copied", {"train": {"epochs": 40, "epochs_done": 8,
                                                  "status": "stopped"}})]
    records = store.runs(klass.id, include_hidden=True)
    for me, teacher, groups in ((ada.id, False, ["Shipped", "Trained here"]),
                                (bob.id, False, ["Shipped", "Mine", "Trained here"]),
                                (None, True, ["Shipped", "This class", "Trained here"])):
        assert list(picker.choices(entries, records, me, teacher)) == groups
    (bobs,) = picker.choices(entries, records, bob.id)["Mine"]
    assert bobs.mark == "stopped at 8 of 40 epochs"
    assert bobs.ending == "stopped by the student after 8 of 40 epochs"
    copied = picker.choices(entries, records, ada.id)["Trained here"][0]  # no record: its card
    assert copied.id == "runs/copied"
    assert (copied.mark, copied.ending) == ("stopped at 8 of 40 epochs",
                                            "stopped after 8 of 40 epochs")
