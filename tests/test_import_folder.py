"""How a folder lands: all or nothing, idempotent, updated in place, in either header
language, with or without a BOM."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from zhucun.models import (
    AuditEvent,
    Cadre,
    County,
    Household,
    Relation,
    Survey,
    Township,
    Village,
)

from tests.support.registry_fixtures import (
    COUNTY,
    V1,
    ids,
    registry_rows,
    valid_folder,
    write_folder,
)
from zhucun.exchange.importer import ImportResult, import_folder

N = ids()


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model)) or 0


def _changes(result: ImportResult) -> dict[str, tuple[int, int, int]]:
    return {t.table: (t.inserted, t.updated, t.unchanged) for t in result.tables}


def _db_digest(engine: Engine) -> str:
    """Hash of the database file with every connection closed: SQLite has checkpointed the
    WAL into the main file, so the file alone is the whole database."""
    engine.dispose()
    path = Path(engine.url.database or "")
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_valid_folder_lands_whole(engine: Engine, tmp_path: Path) -> None:
    result = import_folder(valid_folder(tmp_path / "in"))
    assert result.ok, result.errors
    assert _changes(result) == {
        "county": (1, 0, 0),
        "township": (1, 0, 0),
        "village": (3, 0, 0),
        "household": (4, 0, 0),
        "cadre": (3, 0, 0),
        "official": (3, 0, 0),
        "relation": (2, 0, 0),
        "survey": (2, 0, 0),
    }
    with engine.connect() as conn:
        county = conn.execute(select(County)).one()
        assert (county.county_code, county.name, county.province, county.region) == (
            COUNTY,
            "锦屏县",
            "贵州省",
            "west",
        )
        assert conn.scalar(select(Township.name)) == "南寨镇"
        village = conn.execute(select(Village).where(Village.village_code == V1)).one()
        assert village.main_industries == ["茶叶", "油茶"]
        assert (village.road_paved, village.broadband, village.clinic) == (True, False, True)
        h1 = conn.execute(select(Household).where(Household.household_id == "H0001")).one()
        assert (h1.status, h1.head_birth_year, h1.size) == ("poor", 1970, 4)
        h3 = conn.execute(select(Household).where(Household.household_id == "H0003")).one()
        assert h3.status == "non_poor"
        assert conn.scalar(select(Cadre.skills).where(Cadre.cadre_id == "C001")) == [
            "agriculture",
            "finance",
        ]
        assert conn.scalar(select(Survey.shock).where(Survey.household_id == "H0001")) == "none"


def test_relations_are_stored_once_per_ordered_pair(engine: Engine, tmp_path: Path) -> None:
    """h2 is the parent of c3 as written; c3 < h2, so the pair is swapped and the relation
    turned round: c3 is h2's child."""
    import_folder(valid_folder(tmp_path / "in"))
    with engine.connect() as conn:
        pairs = set(
            conn.execute(select(Relation.id_number_a, Relation.id_number_b, Relation.relation))
        )
    assert N["c3"] < N["h2"]
    assert pairs == {
        (min(N["o1"], N["h1"]), max(N["o1"], N["h1"]), "sibling"),
        (N["c3"], N["h2"], "child"),
    }


def test_one_bad_row_leaves_the_database_byte_for_byte_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    assert import_folder(valid_folder(tmp_path / "first")).ok
    before = _db_digest(engine)
    rows = registry_rows()
    rows["households.csv"][0]["size"] = "9"  # a change that would be written ...
    rows["households.csv"][3]["labour_count"] = "7"  # ... but this row is bad
    rows["villages.csv"].append({**rows["villages.csv"][2], "village_code": "522626100004"})
    result = import_folder(write_folder(tmp_path / "second", rows))
    assert result.errors == ["households.csv:5:labour_count: must be ≤ size"]
    assert _db_digest(engine) == before


def test_a_bad_folder_creates_no_database(data_dir: Path, tmp_path: Path) -> None:
    rows = registry_rows()
    rows["cadres.csv"][0]["gender"] = "?"
    assert not import_folder(write_folder(tmp_path / "in", rows)).ok
    assert not (data_dir / "zhucun.db").exists()


def test_first_import_creates_the_schema(data_dir: Path, tmp_path: Path) -> None:
    result = import_folder(valid_folder(tmp_path / "in"))
    assert result.ok
    assert "created the database schema (zhucun db upgrade)" in result.notes
    assert (data_dir / "zhucun.db").exists()


def test_reimport_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    folder = valid_folder(tmp_path / "in")
    assert import_folder(folder).ok
    audits = _count(engine, AuditEvent)
    assert audits == 6  # one per imported file
    before = _db_digest(engine)
    again = import_folder(folder)
    assert again.ok
    assert all(t.inserted == 0 and t.updated == 0 for t in again.tables)
    assert _count(engine, AuditEvent) == audits
    assert _db_digest(engine) == before


def test_an_updated_folder_updates_in_place(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "first")).ok
    with engine.begin() as conn:  # the lifecycle moved H0001 on; import must not undo it
        conn.execute(
            update(Household)
            .where(Household.household_id == "H0001")
            .values(status="exited", exited_period="2025-12")
        )
    rows = registry_rows()
    rows["households.csv"][0].update(per_capita_income_yuan="9100", registered_poor="false")
    rows["villages.csv"][1]["main_industries"] = "蓝莓"
    rows["cadres.csv"][2]["available"] = "false"
    rows["relations.csv"][0]["relation"] = "in_law"
    rows["surveys.csv"][1]["shock"] = "disaster"
    result = import_folder(write_folder(tmp_path / "second", rows))
    assert result.ok, result.errors
    changes = _changes(result)
    assert changes["household"] == (0, 1, 3)
    assert changes["village"] == (0, 1, 2)
    assert changes["cadre"] == (0, 1, 2)
    assert changes["relation"] == (0, 1, 1)
    assert changes["survey"] == (0, 1, 1)
    assert changes["official"] == (0, 0, 3)
    assert _count(engine, Household) == 4
    assert _count(engine, Relation) == 2
    with engine.connect() as conn:
        h1 = conn.execute(select(Household).where(Household.household_id == "H0001")).one()
        assert (h1.per_capita_income_yuan, h1.registered_poor) == (9100.0, False)
        assert (h1.status, h1.exited_period) == ("exited", "2025-12")
        audit = conn.execute(select(AuditEvent).where(AuditEvent.entity_id == "officials.csv"))
        assert len(audit.all()) == 1  # the unchanged file left no second audit row
        after = conn.scalar(
            select(AuditEvent.after)
            .where(AuditEvent.entity_id == "households.csv")
            .order_by(AuditEvent.id.desc())
        )
    assert after == {"household": {"inserted": 0, "updated": 1, "unchanged": 3}, "warnings": 0}


def test_new_rows_are_added_beside_existing_ones(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "first")).ok
    rows = registry_rows()
    extra = {**rows["households.csv"][3], "household_id": "H0005", "head_id_number": N["outsider"]}
    rows["households.csv"].append(extra)
    result = import_folder(write_folder(tmp_path / "second", rows))
    assert _changes(result)["household"] == (1, 0, 4)


def test_later_folders_may_refer_to_the_database(engine: Engine, tmp_path: Path) -> None:
    """Households naming villages imported earlier; surveys of households in the database;
    relations naming people already registered: all resolve against the database."""
    assert import_folder(valid_folder(tmp_path / "first")).ok
    rows = registry_rows()
    later = {
        "households.csv": [
            {**rows["households.csv"][0], "household_id": "H0009", "head_id_number": N["outsider"]}
        ],
        "surveys.csv": [{**rows["surveys.csv"][0], "survey_date": "2025-12-31"}],
        "relations.csv": [
            {"id_number_a": N["outsider"], "id_number_b": N["c1"], "relation": "spouse"}
        ],
        "officials.csv": [{**rows["officials.csv"][0], "person_id": "P009"}],
        "cadres.csv": [
            {
                **rows["cadres.csv"][2],
                "cadre_id": "C009",
                "id_number": N["o3"],
                "spouse_cadre_id": "C003",
            }
        ],
    }
    result = import_folder(write_folder(tmp_path / "later", later))
    assert result.ok, result.errors
    assert result.warnings == []


def test_a_cadre_id_taken_by_an_official_in_the_database(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "first")).ok
    rows = registry_rows()
    later = {"cadres.csv": [{**rows["cadres.csv"][2], "cadre_id": "P002"}]}
    result = import_folder(write_folder(tmp_path / "later", later))
    assert result.errors == [
        "cadres.csv:2:cadre_id: already a person_id of an official in the database (cadres "
        "and officials share reviewer IDs)"
    ]


def test_chinese_headers_and_aliases(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows()
    for v in rows["villages.csv"]:
        v["region"] = "西部"
    rows["households.csv"][1]["attribute"] = "低保贫困户"
    rows["households.csv"][2]["attribute"] = "特困供养贫困户"
    rows["households.csv"][3]["registered_poor"] = "是"
    rows["cadres.csv"][0]["gender"] = "女"
    result = import_folder(write_folder(tmp_path / "in", rows, chinese=True))
    assert result.ok, result.errors
    header = (tmp_path / "in" / "households.csv").read_text(encoding="utf-8").split(",")[0]
    assert header == "户编号"
    with engine.connect() as conn:
        assert conn.scalar(select(County.region)) == "west"
        attrs = dict(conn.execute(select(Household.household_id, Household.attribute)).all())
        assert attrs == {"H0001": "general", "H0002": "dibao", "H0003": "tekun", "H0004": "general"}
        assert conn.scalar(select(Cadre.gender).where(Cadre.cadre_id == "C001")) == "F"


def test_chinese_headers_in_messages(engine: Engine, tmp_path: Path) -> None:
    """Errors name the column as the operator's file does."""
    rows = registry_rows()
    rows["households.csv"][2]["labour_count"] = "6"
    result = import_folder(write_folder(tmp_path / "in", rows, chinese=True))
    assert result.errors == ["households.csv:4:劳动力人数: must be ≤ size"]


def test_bom_is_accepted(engine: Engine, tmp_path: Path) -> None:
    folder = valid_folder(tmp_path / "in", bom=True, chinese=True)
    assert (folder / "villages.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    result = import_folder(folder)
    assert result.ok, result.errors
    assert _count(engine, Village) == 3


def test_decisions_and_other_files_are_skipped_with_a_note(engine: Engine, tmp_path: Path) -> None:
    folder = valid_folder(tmp_path / "in")
    (folder / "decisions.csv").write_text("stage,subject\nteam,plan\n", encoding="utf-8")
    (folder / "teams.csv").write_text("team_id\n", encoding="utf-8")
    (folder / "notes.csv").write_text("x\n", encoding="utf-8")
    result = import_folder(folder)
    assert result.ok
    assert result.notes == [
        "decisions.csv skipped: review decisions are applied by `zhucun review import`, "
        "which checks each one as a review",
        "notes.csv ignored: not an input file of the exchange format",
        "teams.csv ignored: an output file of `zhucun export`",
    ]


def test_the_audit_trail_holds_counts_not_people(engine: Engine, tmp_path: Path) -> None:
    assert import_folder(valid_folder(tmp_path / "in")).ok
    with engine.connect() as conn:
        events = conn.execute(select(AuditEvent)).all()
    assert {e.entity_id for e in events} == {
        "villages.csv",
        "households.csv",
        "cadres.csv",
        "officials.csv",
        "relations.csv",
        "surveys.csv",
    }
    text = repr([(e.after, e.before, e.entity_id) for e in events])
    for idn in N.values():
        assert idn not in text
    assert "王明" not in text


def test_small_batches_give_the_same_counts(engine: Engine, tmp_path: Path) -> None:
    """Batches cut the stream anywhere: counts and rows are the same as in one batch."""
    result = import_folder(valid_folder(tmp_path / "in"), batch_size=1)
    assert _changes(result)["household"] == (4, 0, 0)
    assert _count(engine, Household) == 4
