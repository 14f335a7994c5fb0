#!/usr/bin/env python3
"""Builds default.csv, wuzhi's default category tree, from two real sources:

- hotline_taxonomy.csv: a city government's three-level classification of citizen messages
  (15 / 118 / 390 classes; TipDM Cup 2020 problem C data, see ../README.md), codes H..;
- the event (事件) and component (部件) classes of the digital city management standard
  (CJ/T 214 "数字化城市管理信息系统 管理部件和事件"), major and minor classes, codes E.. and C..

Each leaf gets its time limits (accept, handle, verify), priority, default responsible
organisation and filing/closing conditions by family. Run: python3 build_default.py
"""
import csv, os

HERE = os.path.dirname(os.path.abspath(__file__))

# Hotline first-level class -> the district department that answers for it.
DEPARTMENT = {
    "城乡建设": "住房和建设委员会", "农村农业": "农业农村委员会", "政法": "公安分局",
    "教育文体": "教育局", "劳动和社会保障": "人力资源和社会保障局", "民政": "民政局",
    "党务政务": "政务服务办公室", "经济管理": "发展和改革委员会", "卫生计生": "卫生健康委员会",
    "商贸旅游": "商务局", "环境保护": "生态环境局", "交通运输": "交通运输局",
    "纪检监察": "纪委监委", "国土资源": "规划和自然资源局", "科技与信息产业": "科学技术局",
}
UTILITY_WORDS = ("燃气", "供水", "供电", "供暖", "供热", "自来水", "热力", "停水", "停电", "停气")

EVENTS = {
    "市容环境": ["私搭乱建", "暴露垃圾", "积存垃圾渣土", "道路不洁", "水域不洁", "绿地脏乱", "废弃车辆", "废弃家具", "焚烧垃圾树叶", "露天烧烤", "违规排放污水"],
    "宣传广告": ["非法小广告", "违章张贴悬挂宣传品", "占道广告牌", "街头散发广告"],
    "施工管理": ["施工扰民", "施工废弃料", "道路遗撒", "违规占道施工", "无证掘路"],
    "街面秩序": ["无照经营游商", "占道经营", "店外经营", "机动车乱停放", "非机动车乱停放", "占道废品收购", "流浪乞讨", "黑车拉客"],
    "突发事件": ["路面塌陷", "自来水管破裂", "燃气管道破裂", "热力管道破裂", "供电故障", "下水道堵塞或破损", "道路积水", "道路积雪结冰", "火灾隐患", "危险建筑物"],
}
COMPONENTS = {
    "公用设施": ["上水井盖", "污水井盖", "雨水井盖", "电力井盖", "燃气井盖", "热力井盖", "消防栓", "路灯", "变压器箱", "通信交接箱"],
    "道路交通": ["交通信号灯", "交通标志牌", "道路护栏", "公交站亭", "过街天桥", "地下通道", "盲道", "停车设施"],
    "市容环境": ["公共厕所", "垃圾箱", "垃圾间", "广告牌匾", "户外电子屏"],
    "园林绿化": ["古树名木", "行道树", "绿地", "花坛花钵", "街头座椅"],
    "房屋土地": ["宣传栏", "报刊亭", "便民服务亭"],
}
# Street-level events the township (street office) handles itself; the rest go to the
# district's city management commission, utilities to the water authority.
STREET_EVENTS = {"市容环境", "宣传广告", "街面秩序"}
LIFE_RISK = {"路面塌陷", "燃气管道破裂", "火灾隐患", "危险建筑物", "下水道堵塞或破损", "道路积水", "道路积雪结冰"}

rows = []
def add(code, name, parent, kind, leaf=None):
    r = {"code": code, "name": name, "parent_code": parent, "kind": kind, "emergency": "", "accept_limit": "",
         "handle_limit": "", "verify_limit": "", "priority": "", "default_org": "", "filing_condition": "", "closing_condition": ""}
    if leaf:
        r.update(leaf)
    rows.append(r)

add("H", "热线诉求", "", "hotline")
with open(os.path.join(HERE, "hotline_taxonomy.csv"), encoding="utf-8") as f:
    tax = list(csv.DictReader(f))
l1s, l2s = {}, {}
for t in tax:
    a, b, c = t["level1"], t["level2"], t["level3"]
    if a not in l1s:
        l1s[a] = f"H{len(l1s) + 1:02d}"
        add(l1s[a], a, "H", "hotline")
    k2 = (a, b)
    if k2 not in l2s:
        n = sum(1 for k in l2s if k[0] == a) + 1
        l2s[k2] = f"{l1s[a]}{n:02d}"
        add(l2s[k2], b, l1s[a], "hotline")
    n3 = sum(1 for r in rows if r["parent_code"] == l2s[k2]) + 1
    utility = any(w in c for w in UTILITY_WORDS)
    add(f"{l2s[k2]}{n3:02d}", c, l2s[k2], "hotline", {
        "emergency": "false",
        "accept_limit": "30m" if utility else "1wd",
        "handle_limit": "1wd" if utility else "5wd",
        "verify_limit": "1wd",
        "priority": "urgent" if utility else "normal",
        "default_org": f"department:{DEPARTMENT[a]}",
        "filing_condition": f"诉求属于“{c}”，内容清楚，有明确的地点或对象，属本市管辖",
        "closing_condition": "已按诉求处理并答复诉求人，核查属实",
    })

for prefix, family, classes in (("E", "城市管理事件", EVENTS), ("C", "城市管理部件", COMPONENTS)):
    add(prefix, family, "", "event" if prefix == "E" else "component")
    for i, (major, minors) in enumerate(classes.items(), 1):
        mc = f"{prefix}{i:02d}"
        add(mc, major, prefix, "event" if prefix == "E" else "component")
        for j, minor in enumerate(minors, 1):
            emergency = major == "突发事件"
            utility = any(w in minor for w in UTILITY_WORDS) or minor == "供电故障"
            if emergency:
                accept, handle = ("15m" if minor in LIFE_RISK or not utility else "30m"), "4h"
                org = "department:水务局" if minor in ("自来水管破裂", "下水道堵塞或破损", "道路积水") else "department:城市管理委员会"
            elif prefix == "E":
                accept, handle = "1wh", ("4wh" if major == "街面秩序" else "1wd")
                org = "street_office" if major in STREET_EVENTS else "department:城市管理委员会"
            else:
                accept, handle = "1wd", "3wd"
                org = "department:城市管理委员会"
            add(f"{mc}{j:02d}", minor, mc, "event" if prefix == "E" else "component", {
                "emergency": "true" if emergency else "false",
                "accept_limit": accept, "handle_limit": handle,
                "verify_limit": "2h" if emergency else "1wd",
                "priority": "emergency" if emergency else ("urgent" if utility else "normal"),
                "default_org": org,
                "filing_condition": f"经核实，现场存在“{minor}”问题" if prefix == "E" else f"“{minor}”部件缺失、破损或功能异常，经核实属实",
                "closing_condition": f"“{minor}”问题已处置完毕，现场核查合格" if prefix == "E" else f"“{minor}”已修复或更换，现场核查合格",
            })

with open(os.path.join(HERE, "default.csv"), "w", encoding="utf-8", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
print(len(rows), "categories,", sum(1 for r in rows if r["accept_limit"]), "leaves")
