"""Family members for the tiny registry of `registry_fixtures`, and the same households as
the national system's person-level export (its own 32 headers and spellings).

H0001 (王明, born 1970): his wife, a son of 10 who is at school, a daughter of 20 at a
vocational school. H0002 (李芳): herself, ill (患有大病), and a grandson of 12 out of school
(控辍保学: compulsory education is then not assured)."""

from __future__ import annotations

from datetime import date

from tests.support.registry_fixtures import COUNTY, ids
from zhucun.exchange.specs import THIS_YEAR
from zhucun.idnumber import make_id_number


def member_ids() -> dict[str, str]:
    n = ids()
    return {
        "m1": n["h1"],
        "m2": make_id_number(COUNTY, date(1972, 5, 5), 102),
        "m3": make_id_number(COUNTY, date(THIS_YEAR - 10, 2, 2), 113),
        "m4": make_id_number(COUNTY, date(THIS_YEAR - 20, 3, 3), 124),
        "m5": n["h2"],
        "m6": make_id_number(COUNTY, date(THIS_YEAR - 12, 4, 4), 135),
    }


def _member(mid: str, hid: str, name: str, idn: str, relation: str, **extra: str) -> dict:
    row = {
        "member_id": mid,
        "household_id": hid,
        "name": name,
        "id_number": idn,
        "relation": relation,
        "gender": "M" if int(idn[16]) % 2 else "F",
        "ethnicity": "苗族",
        "education": "初中",
        "school_status": "非在校生",
        "health": "健康",
        "disability_grade": "",
        "disability_cert": "",
        "labour_skill": "普通劳动力",
        "migrant_months": "6",
        "medical_insurance": "是",
        "serious_illness_insurance": "是",
        "pension_insurance": "否",
        "phone": "",
    }
    row.update(extra)
    return row


def member_rows() -> list[dict[str, str]]:
    m = member_ids()
    return [
        _member("M000101", "H0001", "王明", m["m1"], "户主", labour_skill="技能劳动力"),
        _member("M000102", "H0001", "张兰", m["m2"], "配偶", health="长期慢性病"),
        _member(
            "M000103",
            "H0001",
            "王小",
            m["m3"],
            "之子",
            school_status="小学",
            labour_skill="无劳动力",
        ),
        _member("M000104", "H0001", "王丽", m["m4"], "之女", school_status="中职二年级"),
        _member("M000201", "H0002", "李芳", m["m5"], "户主", health="患有大病"),
        _member(
            "M000202",
            "H0002",
            "李强",
            m["m6"],
            "之孙子",
            labour_skill="无劳动力",
            phone="13800138000",
        ),
    ]


# The 32 headers of the national system's person-level export, in its order.
NATIONAL_HEADERS = [
    "序号", "数据日期", "县(市、区、旗)", "乡(镇)", "行政村", "自然村", "户编号", "人编号",
    "姓名", "证件号码", "人数", "与户主关系", "民族", "文化程度", "在校生状况", "健康状况",
    "劳动技能", "务工时间（月）", "是否参加大病保险", "致贫原因1", "危房户",
    "是否解决安全饮用水", "人均纯收入", "户联系电话", "人联系电话", "首次识别时间",
    "人员识别时间", "户类型", "易返贫致贫户(监测对象)类型", "风险是否消除", "风险识别时间",
    "风险消除时间",
]  # fmt: skip

_HOUSEHOLD = {
    "H0001": {"人数": "4", "致贫原因1": "因病", "危房户": "否", "人均纯收入": "3500"},
    "H0002": {"人数": "2", "致贫原因1": "因病", "危房户": "是", "人均纯收入": "2900"},
}


def national_rows() -> list[list[str]]:
    """The members above as the national export writes them (village by name)."""
    out = []
    for i, m in enumerate(member_rows(), start=1):
        h = _HOUSEHOLD[m["household_id"]]
        row = {
            "序号": str(i),
            "数据日期": "2025-12-31",
            "县(市、区、旗)": "锦屏县",
            "乡(镇)": "南寨镇",
            "行政村": "九寨村",
            "自然村": "上寨",
            "户编号": m["household_id"],
            "人编号": m["member_id"],
            "姓名": m["name"],
            "证件号码": m["id_number"],
            "人数": h["人数"],
            "与户主关系": m["relation"],
            "民族": m["ethnicity"],
            "文化程度": m["education"],
            "在校生状况": m["school_status"],
            "健康状况": m["health"],
            "劳动技能": m["labour_skill"],
            "务工时间（月）": m["migrant_months"],
            "是否参加大病保险": m["serious_illness_insurance"],
            "致贫原因1": h["致贫原因1"],
            "危房户": h["危房户"],
            "是否解决安全饮用水": "是",
            "人均纯收入": h["人均纯收入"],
            "户联系电话": "13900139000",
            "人联系电话": m["phone"],
            "首次识别时间": "2014-05-01",
            "人员识别时间": "2014-05-01",
            "户类型": "脱贫户" if m["household_id"] == "H0001" else "贫困户",
            "易返贫致贫户(监测对象)类型": "",
            "风险是否消除": "",
            "风险识别时间": "",
            "风险消除时间": "",
        }
        out.append([row[h] for h in NATIONAL_HEADERS])
    return out
