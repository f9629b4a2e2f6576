"""The county generator: deterministic, inside the input contract, and realistic where later
stages depend on it (cause shares, incomes, incidence, cadre numbers, conflict cases)."""

from __future__ import annotations

import csv
import math
import statistics
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner
from zhucun.models.enums import Cause, Skill

from zhucun.cli import app
from zhucun.generator import FILES, UnknownCountyError, generate
from zhucun.generator.geography import sample_villages
from zhucun.idnumber import id_number_problem
from zhucun.policy import default_policy
from zhucun.rules.causes import assess

# Headers exactly as docs/data-format.md lists them (English names, in order).
HEADERS = {
    "villages.csv": "village_code,name,township_code,township_name,county_code,county_name,"
    "province,region,registered_poor,population,collective_income_yuan,road_paved,safe_water,"
    "electricity,broadband,clinic,school,cultural_center,terrain,distance_to_county_km,"
    "main_industries",
    "households.csv": "household_id,village_code,head_name,head_id_number,size,labour_count,"
    "skilled_labour,per_capita_income_yuan,registered_poor,attribute,housing_grade,"
    "food_clothing_secure,compulsory_education_ok,basic_medical_ok,safe_water_ok,"
    "chronic_illness_members,serious_illness_members,disabled_members,students,"
    "medical_spending_yuan,education_spending_yuan,land_mu,disaster_loss_yuan,road_access,"
    "has_credit_access,low_motivation,head_birth_year,identification_year,"
    "registered_main_cause,identification_standard,wage_income_yuan,business_income_yuan,"
    "property_income_yuan,transfer_income_yuan,dibao_income_yuan,tekun_income_yuan,"
    "pension_income_yuan,eco_compensation_yuan,production_cost_yuan,dangerous_house,"
    "house_area_m2,drinking_water_difficulty,road_type,sanitary_toilet,fuel,cooperative_member,"
    "phone,bank_name,bank_account",
    "members.csv": "member_id,household_id,name,id_number,relation,gender,ethnicity,education,"
    "school_status,health,disability_grade,disability_cert,labour_skill,migrant_months,"
    "medical_insurance,serious_illness_insurance,pension_insurance,phone",
    "cadres.csv": "cadre_id,name,id_number,gender,agency,agency_level,home_village_code,"
    "home_county_code,party_member,party_join_year,work_start_year,skills,available,"
    "spouse_cadre_id,serving_county_code",
    "officials.csv": "person_id,name,id_number,level,area_code,role",
    "relations.csv": "id_number_a,id_number_b,relation",
    "surveys.csv": "household_id,survey_date,per_capita_income_yuan,food_clothing_secure,"
    "compulsory_education_ok,basic_medical_ok,safe_water_ok,housing_grade,shock",
}
CAUSES = {c.value for c in Cause}
SKILLS = {s.value for s in Skill}
BOOL = {"true", "false"}
COUNTY, HOUSEHOLDS, YEAR = "433124", 1500, 2026


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(COUNTY, out, seed=7, households=HOUSEHOLDS, year=YEAR)
    return out


@pytest.fixture(scope="module")
def data(county: Path) -> dict[str, list[dict[str, str]]]:
    return {name: read(county, name) for name in FILES}


@pytest.fixture(scope="module")
def policy():  # noqa: ANN201
    return default_policy(YEAR, "central")


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate("130624", a, seed=3, households=400)
    generate("130624", b, seed=3, households=400)
    generate("130624", c, seed=4, households=400)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "households.csv").read_bytes() != (c / "households.csv").read_bytes()


def test_headers_are_exactly_the_contract(county: Path) -> None:
    for name, header in HEADERS.items():
        with open(county / name, encoding="utf-8") as fh:
            assert fh.readline().rstrip("\n") == header, name


def test_codes_references_and_ranges(data: dict[str, list[dict[str, str]]]) -> None:
    villages = {v["village_code"]: v for v in data["villages.csv"]}
    townships = {v["township_code"] for v in villages.values()}
    for code, v in villages.items():
        assert len(code) == 12 and code.isdigit()
        assert code[:9] == v["township_code"] and v["township_code"][:6] == v["county_code"]
        assert 200 <= int(code[9:]) <= 399  # NBS 村委会 numbers
        assert v["county_code"] == COUNTY and v["region"] == "central" and v["name"]
        assert v["terrain"] in {"plain", "hill", "mountain", "plateau"}
        assert int(v["population"]) >= 0 and float(v["collective_income_yuan"]) >= 0
        assert float(v["distance_to_county_km"]) >= 0 and v["registered_poor"] in BOOL
    ids: list[str] = []
    persons: Counter[str] = Counter()
    households = {h["household_id"]: h for h in data["households.csv"]}
    assert len(households) == len(data["households.csv"])
    for h in households.values():
        assert h["village_code"] in villages and h["head_name"]
        assert id_number_problem(h["head_id_number"]) is None
        assert h["head_id_number"][:6] == COUNTY
        assert int(h["head_birth_year"]) == int(h["head_id_number"][6:10])
        size, labour, skilled = int(h["size"]), int(h["labour_count"]), int(h["skilled_labour"])
        assert size >= 1 and 0 <= skilled <= labour <= size
        for col in (
            "chronic_illness_members",
            "serious_illness_members",
            "disabled_members",
            "students",
        ):
            assert 0 <= int(h[col]) <= size, col
        for col in (
            "per_capita_income_yuan",
            "medical_spending_yuan",
            "education_spending_yuan",
            "land_mu",
            "disaster_loss_yuan",
        ):
            assert float(h[col]) >= 0, col
        assert h["attribute"] in {"general", "dibao", "tekun"}
        if labour == 0:
            assert h["attribute"] in {"dibao", "tekun"}  # no labour: social-security floor
        assert h["housing_grade"] in set("ABCD")
        for col in (
            "registered_poor",
            "food_clothing_secure",
            "compulsory_education_ok",
            "basic_medical_ok",
            "safe_water_ok",
            "road_access",
            "has_credit_access",
            "low_motivation",
        ):
            assert h[col] in BOOL, col
        ids.append(h["head_id_number"])
        persons[h["village_code"]] += size
    for code, n in persons.items():
        assert int(villages[code]["population"]) >= n

    cadres = {c["cadre_id"]: c for c in data["cadres.csv"]}
    for c in cadres.values():
        assert id_number_problem(c["id_number"]) is None
        assert c["id_number"][:6] == c["home_county_code"]
        assert (int(c["id_number"][16]) % 2 == 1) == (c["gender"] == "M")
        assert c["agency_level"] in {"central", "provincial", "prefectural", "county"}
        assert c["agency"] and set(c["skills"].split(";")) <= SKILLS
        assert not c["home_village_code"] or c["home_village_code"] in villages
        if c["party_member"] == "true":
            assert int(c["id_number"][6:10]) + 17 <= int(c["party_join_year"]) <= YEAR
        else:
            assert c["party_join_year"] == ""
        assert int(c["work_start_year"]) <= YEAR
        assert c["serving_county_code"] == COUNTY  # the units were chosen for this county
        if c["spouse_cadre_id"]:
            spouse = cadres[c["spouse_cadre_id"]]
            assert spouse["spouse_cadre_id"] == c["cadre_id"]
            assert spouse["gender"] != c["gender"]
        ids.append(c["id_number"])

    roles = Counter()
    for o in data["officials.csv"]:
        assert id_number_problem(o["id_number"]) is None
        level, area = o["level"], o["area_code"]
        known = {"village": villages, "township": townships, "county": {COUNTY}}[level]
        assert area in known
        roles[(level, area, o["role"])] += 1
        ids.append(o["id_number"])
    assert len(ids) == len(set(ids)), "ID numbers are unique across files"
    for code in villages:
        assert roles[("village", code, "party_secretary")] == 1
        assert roles[("village", code, "committee_director")] == 1
        assert 1 <= roles[("village", code, "committee_member")] <= 3
    assert all(roles[("township", t, "reviewer")] >= 2 for t in townships)
    assert roles[("county", COUNTY, "approver")] >= 2

    kinds = {"spouse", "parent", "child", "sibling", "grandparent", "grandchild", "in_law"}
    for r in data["relations.csv"]:
        assert r["id_number_a"] != r["id_number_b"] and r["relation"] in kinds
        assert id_number_problem(r["id_number_a"]) is None
        assert id_number_problem(r["id_number_b"]) is None

    dates = {f"{YEAR}-06-30", f"{YEAR}-09-30", f"{YEAR}-12-31", f"{YEAR + 1}-03-31"}
    for s in data["surveys.csv"]:
        assert s["household_id"] in households and s["survey_date"] in dates
        assert float(s["per_capita_income_yuan"]) >= 0 and s["housing_grade"] in set("ABCD")
        assert s["shock"] in {"none", "illness", "accident", "disaster", "unemployment"}


def test_main_causes_follow_published_shares(data, policy) -> None:  # noqa: ANN001
    poor = [h for h in data["households.csv"] if h["registered_poor"] == "true"]
    assert len(poor) == HOUSEHOLDS
    results = [assess(h, policy.cause_thresholds) for h in poor]
    main = Counter(a.main_cause.value for a in results)
    assert abs(main["illness"] / len(poor) - 0.42) <= 0.03
    assert set(main) == set(CAUSES), set(CAUSES) - set(main)
    assert all(len(a.other_causes) <= 2 for a in results)
    assert any(a.other_causes for a in results) and any(not a.other_causes for a in results)


def test_incomes_follow_the_line(data, policy) -> None:  # noqa: ANN001
    line, threshold = policy.poverty_line_yuan, policy.monitoring_threshold_yuan
    poor = [
        float(h["per_capita_income_yuan"])
        for h in data["households.csv"]
        if h["registered_poor"] == "true"
    ]
    never = [
        float(h["per_capita_income_yuan"])
        for h in data["households.csv"]
        if h["registered_poor"] == "false"
    ]
    below = sum(x <= line for x in poor) / len(poor)
    assert 0.78 <= below <= 0.93  # mostly below; a minority just above: exit candidates
    assert statistics.mean(poor) > statistics.median(poor)  # right skew
    assert max(poor) <= 1.6 * line
    # never registered: edge households (边缘易致贫户, inside the range) and ordinary ones,
    # mostly above the threshold; none under the line (they would have been registered)
    edge = [x for x in never if x < threshold]
    assert 0.08 <= len(edge) / len(poor) <= 0.20
    assert all(line < x for x in never)
    assert len(never) - len(edge) >= 0.8 * round(HOUSEHOLDS * 0.25)


def test_village_incidence_is_plausible(data, policy) -> None:  # noqa: ANN001
    villages = {v["village_code"]: v for v in data["villages.csv"]}
    poor_persons: Counter[str] = Counter()
    in_poor_village = 0
    for h in data["households.csv"]:
        if h["registered_poor"] == "true":
            poor_persons[h["village_code"]] += int(h["size"])
            in_poor_village += villages[h["village_code"]]["registered_poor"] == "true"
    assert in_poor_village / HOUSEHOLDS >= 0.6  # most poor households live in poor villages
    share = sum(v["registered_poor"] == "true" for v in villages.values()) / len(villages)
    assert 0.28 <= share <= 0.47
    rate = {c: poor_persons[c] / int(v["population"]) for c, v in villages.items()}
    poor = [rate[c] for c, v in villages.items() if v["registered_poor"] == "true"]
    other = [rate[c] for c, v in villages.items() if v["registered_poor"] == "false"]
    assert 0.08 <= statistics.median(poor) <= 0.30
    assert sum(0.01 <= x <= 0.31 for x in poor) / len(poor) >= 0.9
    assert max(other) <= 0.07
    exit_line = policy.village_exit_max_incidence
    assert sum(abs(x - exit_line) <= 0.005 for x in rate.values()) >= 3  # near the exit line
    road = {v["road_paved"] == "true" for v in villages.values()}
    assert road == {True, False}


def test_cadres_suffice_and_ratio_makes_shortages(data, policy, tmp_path: Path) -> None:  # noqa: ANN001
    poor_villages = sum(v["registered_poor"] == "true" for v in data["villages.csv"])
    available = [c for c in data["cadres.csv"] if c["available"] == "true"]
    need = math.ceil(HOUSEHOLDS / policy.helper_caseload_cap)
    need += policy.team_min_size * poor_villages
    assert len(available) >= need
    assert len(available) < len(data["cadres.csv"])  # some are not available
    levels = Counter(c["agency_level"] for c in data["cadres.csv"])
    assert set(levels) == {"central", "provincial", "prefectural", "county"}
    assert len({c["agency"] for c in data["cadres.csv"]}) >= 10
    health = [c for c in data["cadres.csv"] if "卫生健康" in c["agency"]]
    assert health and all(c["skills"].startswith("health") for c in health)
    junior = [
        c
        for c in data["cadres.csv"]
        if int(c["work_start_year"]) > YEAR - 2
        or c["party_join_year"] == str(YEAR)
        or c["party_member"] == "false"
    ]
    assert junior  # some cannot be first secretary
    assert any(c["home_village_code"] for c in data["cadres.csv"])
    assert {c["gender"] for c in data["cadres.csv"]} == {"M", "F"}

    short = tmp_path / "short"
    summary = generate(COUNTY, short, seed=7, households=HOUSEHOLDS, cadre_ratio=0.5)
    assert summary.cadres_available < need


def test_every_conflict_scenario_is_present(data) -> None:  # noqa: ANN001
    villages = {v["village_code"]: v for v in data["villages.csv"]}
    heads = {h["head_id_number"]: h for h in data["households.csv"]}
    poor_heads = {k for k, h in heads.items() if h["registered_poor"] == "true"}
    cadres = {c["id_number"]: c for c in data["cadres.csv"]}
    officials = {o["id_number"]: o for o in data["officials.csv"]}
    pairs = [(r["id_number_a"], r["id_number_b"], r["relation"]) for r in data["relations.csv"]]
    known = heads.keys() | cadres.keys() | officials.keys()

    def any_pair(pred) -> bool:  # noqa: ANN001
        return any(pred(a, b) or pred(b, a) for a, b, _ in pairs)

    assert any_pair(
        lambda a, b: (
            a in cadres
            and b in officials
            and officials[b]["level"] == "village"
            and villages[officials[b]["area_code"]]["registered_poor"] == "true"
        )
    )
    assert any_pair(lambda a, b: a in cadres and b in poor_heads)
    assert any_pair(
        lambda a, b: (
            a in officials
            and officials[a]["level"] == "village"
            and b in poor_heads
            and heads[b]["village_code"] == officials[a]["area_code"]
        )
    )  # 优亲厚友
    assert any_pair(
        lambda a, b: (
            a in officials
            and officials[a]["role"] == "reviewer"
            and b in poor_heads
            and heads[b]["village_code"][:9] == officials[a]["area_code"]
        )
    )
    assert any(a not in known or b not in known for a, b, _ in pairs)  # relatives elsewhere
    spouses = [(a, b) for a, b, k in pairs if k == "spouse" and a in cadres and b in cadres]
    assert spouses and all(
        cadres[a]["spouse_cadre_id"] == cadres[b]["cadre_id"] for a, b in spouses
    )
    home = {c["home_village_code"] for c in cadres.values() if c["home_village_code"]}
    assert any(villages[code]["registered_poor"] == "true" for code in home)


def test_surveys_improve_fall_back_and_shock(data, policy) -> None:  # noqa: ANN001
    line, threshold = policy.poverty_line_yuan, policy.monitoring_threshold_yuan
    households = {h["household_id"]: h for h in data["households.csv"]}
    last: dict[str, dict[str, str]] = {}
    shocks = Counter()
    for s in data["surveys.csv"]:
        last[s["household_id"]] = s  # rows are in date order per household
        shocks[s["shock"]] += 1
    assert set(last) == set(households)
    guarantees = (
        "food_clothing_secure",
        "compulsory_education_ok",
        "basic_medical_ok",
        "safe_water_ok",
    )
    exits = fell = stayed = 0
    for hid, s in last.items():
        h, income = households[hid], float(last[hid]["per_capita_income_yuan"])
        start = float(h["per_capita_income_yuan"])
        if h["registered_poor"] == "true" and start <= line:
            if (
                income > line
                and all(s[g] == "true" for g in guarantees)
                and s["housing_grade"] in "AB"
            ):
                exits += 1
            elif income <= line:
                stayed += 1
        if h["registered_poor"] == "false" and income < threshold * 0.97 and start > line:
            fell += 1
    assert exits > 0.2 * HOUSEHOLDS and stayed > 0.2 * HOUSEHOLDS and fell > 0
    assert {"illness", "accident", "disaster", "unemployment"} <= set(shocks)


def test_real_villages_of_the_sample_counties(tmp_path: Path) -> None:
    generate("130624", tmp_path, seed=1, households=300)
    villages = read(tmp_path, "villages.csv")
    sample = {code: name for rows in sample_villages("130624").values() for code, name in rows}
    assert {v["village_code"]: v["name"] for v in villages} == sample
    assert "城厢村" in sample.values()  # 村民委员会 suffix dropped, 居委会 skipped
    assert {v["region"] for v in villages} == {"east"} and villages[0]["province"] == "河北省"


def test_synthetic_villages_elsewhere(tmp_path: Path) -> None:
    summary = generate("522626", tmp_path, seed=2, households=500)  # 岑巩县, Guizhou: west
    villages = read(tmp_path, "villages.csv")
    per_township = Counter(v["township_code"] for v in villages)
    assert 8 <= statistics.mean(per_township.values()) <= 25
    assert all(v["name"].endswith("村") for v in villages)
    assert len({(v["township_code"], v["name"]) for v in villages}) == len(villages)
    assert {v["region"] for v in villages} == {"west"}
    assert summary.region == "west" and summary.rows["households.csv"] == 560 + 125  # ordinary


def test_unknown_county_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownCountyError, match="832"):
        generate("110101", tmp_path)  # 东城区, Beijing: never a poverty county
    result = CliRunner().invoke(app, ["generate", "--county", "110101", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "832" in result.output
    assert not (tmp_path / "households.csv").exists()
    with pytest.raises(ValueError, match="year"):
        generate(COUNTY, tmp_path, year=2300)  # people would be born in the future


def test_cli_prints_json_summary(tmp_path: Path) -> None:
    import json

    result = CliRunner().invoke(
        app,
        ["generate", "--county", COUNTY, "--out", str(tmp_path), "--households", "200", "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["rows"]["households.csv"] == 224 + 50 and summary["region"] == "central"


def test_importer_accepts_a_generated_county(county: Path, data, data_dir: Path) -> None:  # noqa: ANN001
    from zhucun.exchange.importer import import_folder

    result = import_folder(county, url=f"sqlite:///{data_dir / 'registry.db'}")
    assert result.ok, result.errors[:10]
    rows = {(t.file, t.table): t.rows for t in result.tables}
    assert rows[("households.csv", "household")] == len(data["households.csv"])
    assert rows[("cadres.csv", "cadre")] == len(data["cadres.csv"])
    assert rows[("surveys.csv", "survey")] == len(data["surveys.csv"])
    # the only warnings are the relatives living elsewhere (unknown ID numbers, kept)
    assert all("unknown ID number" in w for w in result.warnings)


def test_credit_rating_is_apart_from_the_cause_and_microcredit_is_chosen(data, policy) -> None:  # noqa: ANN001
    """评级授信 (has_credit_access) is the bank's judgment of repayment, not a cause: poor
    households able to work whose cause is 缺资金 are mostly rated, so 小额信贷 — the
    remedy of 缺资金 — is chosen by the rules for some households."""
    from zhucun.rules.measures import HouseholdFacts, select_measures

    able = [
        h
        for h in data["households.csv"]
        if h["registered_poor"] == "true" and int(h["labour_count"]) > 0
    ]
    capital = [h for h in able if h["registered_main_cause"] == "capital"]
    assert capital and sum(h["has_credit_access"] == "true" for h in capital) > len(capital) / 2
    chosen = 0
    for h in able:
        a = assess(h, policy.cause_thresholds)
        facts = HouseholdFacts(
            size=int(h["size"]),
            labour_count=int(h["labour_count"]),
            head_birth_year=int(h["head_birth_year"] or h["head_id_number"][6:10]),
            has_credit_access=h["has_credit_access"] == "true",
            housing_grade=h["housing_grade"],
            students=int(h["students"]),
            disabled_members=int(h["disabled_members"]),
            attribute=h["attribute"],
        )
        others = [c.value for c in a.other_causes]
        ms = select_measures(facts, a.main_cause.value, others, policy, YEAR)
        chosen += any(m.measure.value == "microcredit" for m in ms)
    assert chosen >= len(able) / 50, chosen
