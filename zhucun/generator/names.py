"""Synthetic Chinese personal and village names, and unique valid resident ID numbers.

Names are drawn from frequent surnames and common given-name characters; villages get two or
three dominant surnames (many villages are clan villages), which also makes declared
relatives share a surname where they should.
"""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

from zhucun.idnumber import make_id_number

# [GK] the most frequent surnames (roughly by national frequency, repeated to weight them).
SURNAMES: tuple[str, ...] = tuple(
    "王王王王李李李李张张张张刘刘刘陈陈陈杨杨黄黄赵赵吴吴周周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩"
    "冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟"
    "熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# [GK] surnames frequent among the Miao and Tujia of western Hunan / Guizhou (e.g. 花垣县).
SURNAMES_XIANGXI: tuple[str, ...] = tuple("龙龙龙石石石吴吴麻麻杨杨田田施彭向滕张梁隆秧")
MALE_CHARS = "伟强军勇明国华建平志海林东文辉成荣光福贵德春生全兴富家宝金永红小山新忠发"
FEMALE_CHARS = "芳娟秀英兰霞玲燕丽梅桂凤春花红琴云珍翠菊艳敏娥萍莲巧妹玉香凤姣美"

_VILLAGE_FIRST = "东西南北上下前后大小新老石柳杨桃李马龙凤青黄白红金高平安长双三五中兴和富太福"
_VILLAGE_FEATURE_NORTH = "沟坪湾坡岭庄峪河台营屯堡岗峰口头林铺场洼"
_VILLAGE_FEATURE_SOUTH = "寨坝冲洞溪塘坪湾坡岭河山岩田垭坳"
_VILLAGE_SPECIAL = ("团结", "红旗", "新民", "光明", "和平", "胜利", "幸福", "民主", "友谊", "建设")


def person_name(
    rng: Random, female: bool, surname: str | None = None, surnames: tuple[str, ...] = SURNAMES
) -> str:
    chars = FEMALE_CHARS if female else MALE_CHARS
    sur = surname or rng.choice(surnames)
    given = rng.choice(chars) if rng.random() < 0.35 else rng.choice(chars) + rng.choice(chars)
    return sur + given


def village_name(rng: Random, south: bool, taken: set[str]) -> str:
    """A plausible administrative village name (…村), unique within `taken`."""
    features = _VILLAGE_FEATURE_SOUTH if south else _VILLAGE_FEATURE_NORTH
    for _ in range(50):
        r = rng.random()
        if r < 0.08:
            name = rng.choice(_VILLAGE_SPECIAL) + "村"
        elif r < 0.30:
            name = rng.choice(SURNAMES) + "家" + rng.choice(features) + "村"
        elif r < 0.55:
            name = (
                rng.choice(_VILLAGE_FIRST)
                + rng.choice(_VILLAGE_FIRST)
                + rng.choice(features)
                + "村"
            )
        else:
            name = rng.choice(_VILLAGE_FIRST) + rng.choice(features) + "村"
        if name not in taken:
            taken.add(name)
            return name
    name = f"{rng.choice(_VILLAGE_FIRST)}{len(taken)}组村"
    taken.add(name)
    return name


class IdAllocator:
    """Hands out valid resident ID numbers that are unique across the whole county folder.

    The 3-digit sequence is counted per (area, birth date, sex), so a million household
    heads need only one small counter per birth date, not a set of every number issued."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, date, bool], int] = {}

    def issue(self, area_code: str, born: date, male: bool) -> str:
        while True:
            key = (area_code, born, male)
            k = self._next.get(key, 0)
            if k < 499:
                self._next[key] = k + 1
                return make_id_number(area_code, born, 2 * k + 1 if male else 2 * k + 2)
            born += timedelta(days=1)


def birth_date(rng: Random, year: int) -> date:
    """A birth date in `year` (day of year uniform; 28 Feb is the safe last day of February)."""
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))
