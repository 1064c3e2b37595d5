//! Seeded generator of short Chinese news headlines with planted
//! near-duplicates and hard negatives, for the clustering benchmark.
//!
//! An *event* is a template filled with slot values (company, product,
//! city, figures…). Its copies are the same headline as another outlet ran
//! it: 1–2 edits (an outlet prefix or suffix, punctuation, one character
//! changed, inserted or removed). *Hard negatives* are sibling events: the
//! same template and some of the same slots, but at least two slots
//! different — other news that reads alike.

use super::Rng;

const COMPANIES: &[&str] = &[
    "智谱",
    "月之暗面",
    "深度求索",
    "百度",
    "阿里云",
    "腾讯",
    "字节跳动",
    "华为",
    "商汤",
    "科大讯飞",
    "小米",
    "宇树",
    "优必选",
    "智元",
    "摩尔线程",
    "寒武纪",
    "地平线",
    "蔚来",
    "理想汽车",
    "零一万物",
    "MiniMax",
    "百川智能",
    "阶跃星辰",
    "面壁智能",
    "昆仑万维",
    "京东",
    "美团",
    "快手",
    "网易",
    "360",
    "OPPO",
    "vivo",
    "荣耀",
    "联想",
    "海康威视",
    "大疆",
    "比亚迪",
    "小鹏",
    "云从科技",
    "第四范式",
];
const SYL1: &[&str] = &[
    "云", "星", "智", "深", "灵", "天", "芯", "海", "光", "数", "元", "极", "量", "鸿", "启", "博", "未", "华", "思",
    "若",
];
const SYL2: &[&str] = &["图", "擎", "途", "川", "跃", "境", "源", "算", "联", "核", "瞳", "势", "脉", "璇", "河", "岚"];
const SUFFIX: &[&str] = &["科技", "智能", "机器人", "半导体", "智驾", "数据"];
const MODELS: &[&str] = &[
    "GLM",
    "Qwen",
    "Kimi",
    "ERNIE",
    "Doubao",
    "Hunyuan",
    "Pangu",
    "Spark",
    "MiniCPM",
    "Step",
    "abab",
    "Yi",
    "Baichuan",
    "SenseNova",
    "Vidu",
    "Kling",
    "Seed",
    "Hailuo",
    "Skywork",
    "Astra",
];
const VARIANTS: &[&str] = &["", "", "-Pro", "-Max", "-Turbo", "-Flash", "-VL", "-Coder", "-Air", "-Mini"];
const PRODUCTS: &[&str] = &[
    "人形机器人",
    "推理芯片",
    "AI眼镜",
    "智能体平台",
    "具身大模型",
    "端侧模型",
    "自动驾驶方案",
    "AI手机",
    "编程助手",
    "视频生成模型",
    "语音大模型",
    "训练集群",
    "机器狗",
    "AI学习机",
    "数字人",
    "AI搜索",
    "翻译耳机",
    "智算中心",
];
const CITIES: &[&str] = &[
    "北京",
    "上海",
    "深圳",
    "杭州",
    "广州",
    "成都",
    "南京",
    "武汉",
    "合肥",
    "苏州",
    "西安",
    "重庆",
    "天津",
    "长沙",
    "郑州",
    "青岛",
    "厦门",
    "无锡",
    "东莞",
    "宁波",
    "济南",
    "沈阳",
    "大连",
    "福州",
    "昆明",
    "贵阳",
    "南昌",
    "太原",
    "石家庄",
    "珠海",
];
const ACTIONS: &[&str] = &["发布", "推出", "开源", "上线", "亮相", "升级", "交付", "量产"];
const ROUNDS: &[&str] = &["天使轮", "A轮", "A+轮", "B轮", "B+轮", "C轮", "D轮", "Pre-IPO轮", "战略"];
const INVESTORS: &[&str] = &[
    "红杉中国",
    "高瓴",
    "腾讯投资",
    "阿里巴巴",
    "国投创合",
    "深创投",
    "启明创投",
    "君联资本",
    "IDG资本",
    "经纬创投",
    "北京市人工智能产业投资基金",
    "上海国投",
    "中金资本",
    "源码资本",
    "五源资本",
];
const METRICS: &[&str] = &["推理速度", "性能", "能效", "准确率", "上下文长度", "吞吐", "续航", "算力"];
const LISTS: &[&str] = &[
    "SuperCLUE",
    "LMArena",
    "OpenCompass",
    "C-Eval",
    "MMLU",
    "HuggingFace趋势",
    "App Store免费",
    "AlpacaEval",
    "MT-Bench",
    "GAIA",
    "SWE-bench",
    "AIME",
    "LiveCodeBench",
    "HELM",
    "CMMLU",
];
const EDITIONS: &[&str] = &["Pro", "Ultra", "Max", "Air", "Neo", "X1", "S2", "Lite"];
const OUTLET_PREFIX: &[&str] = &["【36氪】", "快讯｜", "独家：", "原创 ", "【量子位】", "重磅！", "[IT之家] "];
const OUTLET_SUFFIX: &[&str] = &["｜量子位", " - 机器之心", "_IT之家", " | 钛媒体", "｜智东西"];
/// Characters an edit may put in: common headline characters.
const FILLER: &[char] = &[
    '的', '新', '将', '再', '获', '已', '又', '大', '全', '首', '正', '今', '多', '强', '高', '更', '近', '称', '据',
    '或',
];

/// Slot values of one event.
#[derive(Clone)]
struct Event {
    template: usize,
    company: String,
    partner: String,
    product: String,
    city: String,
    n: u32,
    m: u32,
    pick: usize,
}

fn company(r: &mut Rng) -> String {
    if r.below(3) == 0 {
        r.pick(COMPANIES).to_string()
    } else {
        format!("{}{}{}", r.pick(SYL1), r.pick(SYL2), r.pick(SUFFIX))
    }
}

fn product(r: &mut Rng) -> String {
    if r.below(2) == 0 {
        format!("{}-{}.{}{}", r.pick(MODELS), 1 + r.below(6), r.below(10), r.pick(VARIANTS))
    } else {
        let p = r.pick(PRODUCTS);
        match r.below(3) {
            0 => format!("{}{}", r.pick(MODELS), p),
            1 => format!("第{}代{p}", 2 + r.below(6)),
            _ => format!("{p}{}", r.pick(EDITIONS)),
        }
    }
}

const TEMPLATES: usize = 14;

fn event(r: &mut Rng) -> Event {
    Event {
        template: r.below(TEMPLATES),
        company: company(r),
        partner: company(r),
        product: product(r),
        city: r.pick(CITIES).to_string(),
        n: 2 + r.below(998) as u32,
        m: 2 + r.below(98) as u32,
        pick: r.below(1 << 20),
    }
}

/// Which slots each template shows: 0 company, 1 product, 2 city, 3 n, 4 m, 5 partner.
const SLOTS: [&[usize]; TEMPLATES] = [
    &[0, 1, 4],
    &[0, 3],
    &[0, 2, 1, 3],
    &[2, 0, 1, 4],
    &[0, 1, 3],
    &[0, 5, 2, 1],
    &[0, 1, 4],
    &[0, 1, 3],
    &[0, 1, 3, 2],
    &[0, 3, 4],
    &[2, 4, 1],
    &[0, 1, 4, 2],
    &[0, 1],
    &[0, 5, 2, 3, 1],
];

/// A sibling of `e`: same template, other news. The company is another
/// (where the template names one) and so is at least one more slot.
fn sibling(r: &mut Rng, e: &Event) -> Event {
    let mut s = e.clone();
    let slots = SLOTS[e.template];
    let mut change: Vec<usize> = if slots[0] == 0 { vec![0] } else { vec![slots[0]] };
    let others: Vec<usize> = slots.iter().copied().filter(|x| !change.contains(x)).collect();
    change.push(others[r.below(others.len())]);
    for slot in change {
        // Redraw until the value differs.
        loop {
            let fresh = event(r);
            let differs = match slot {
                0 => s.company != fresh.company,
                1 => s.product != fresh.product,
                2 => s.city != fresh.city,
                3 => s.n != fresh.n,
                4 => s.m != fresh.m,
                _ => s.partner != fresh.partner,
            };
            if differs {
                match slot {
                    0 => s.company = fresh.company,
                    1 => s.product = fresh.product,
                    2 => s.city = fresh.city,
                    3 => s.n = fresh.n,
                    4 => s.m = fresh.m,
                    _ => s.partner = fresh.partner,
                }
                break;
            }
        }
    }
    s
}

fn render(e: &Event) -> String {
    let (c, c2, p, city, n, m) = (&e.company, &e.partner, &e.product, &e.city, e.n, e.m);
    let action = ACTIONS[e.pick % ACTIONS.len()];
    let metric = METRICS[e.pick / 7 % METRICS.len()];
    match e.template {
        0 => format!("{c}{action}{p}，{metric}提升{m}%"),
        1 => format!(
            "{c}完成{n}亿元{}融资，{}领投",
            ROUNDS[e.pick % ROUNDS.len()],
            INVESTORS[e.pick / 11 % INVESTORS.len()]
        ),
        2 => format!("{c}在{city}{action}{p}，首批{n}台"),
        3 => format!("{city}：{c}{p}正式{action}，{metric}提升{m}%"),
        4 => format!("{c}{p}上线首周用户破{n}万"),
        5 => format!("{c}与{c2}达成战略合作，共建{city}{p}"),
        6 => format!("{c}CEO：{p}将在{m}个月内{action}"),
        7 => format!("{c}{action}{p}，售价{n}元起"),
        8 => format!("{c}{p}订单超{n}万台，{city}工厂扩产"),
        9 => format!("{c}发布{}年财报：营收{n}亿元，同比增长{m}%", 2020 + e.pick % 6),
        10 => format!("工信部：{city}{m}家企业入选{p}试点"),
        11 => format!("{c}宣布{p}降价{m}%，{city}率先开售"),
        12 => format!("{c}{p}登顶{}榜单", LISTS[e.pick % LISTS.len()]),
        _ => format!("{c}联合{c2}在{city}建成{n}卡{p}"),
    }
}

/// One outlet's copy: 1–2 edits of the headline.
fn copy(r: &mut Rng, title: &str) -> String {
    let mut s: Vec<char> = title.chars().collect();
    for _ in 0..1 + r.below(2) {
        match r.below(6) {
            0 => s.splice(0..0, r.pick(OUTLET_PREFIX).chars()).for_each(drop),
            1 => s.extend(r.pick(OUTLET_SUFFIX).chars()),
            2 => match s.iter().position(|c| *c == '，' || *c == '：') {
                Some(i) => s[i] = if r.below(2) == 0 { ' ' } else { '，' },
                None => s.push('！'),
            },
            3 => {
                if let Some(i) = letter(r, &s) {
                    s[i] = FILLER[r.below(FILLER.len())];
                }
            }
            4 => {
                if let Some(i) = letter(r, &s) {
                    s.insert(i, FILLER[r.below(FILLER.len())]);
                }
            }
            _ => {
                if let Some(i) = letter(r, &s) {
                    s.remove(i);
                }
            }
        }
    }
    s.into_iter().collect()
}

/// A random position of a Chinese character: outlets reword the Chinese,
/// they do not change a figure or a model's name.
fn letter(r: &mut Rng, s: &[char]) -> Option<usize> {
    (0..16).map(|_| r.below(s.len())).find(|&i| ('\u{4e00}'..='\u{9fff}').contains(&s[i]))
}

/// The generated headlines, the event each belongs to, and every pair of
/// copies of one event (the planted near-duplicates).
pub struct Titles {
    pub titles: Vec<String>,
    pub event: Vec<u32>,
}

impl Titles {
    /// Pairs (i, j), i < j, of headlines of the same event.
    pub fn planted(&self) -> Vec<(usize, usize)> {
        let mut by_event: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
        for (i, e) in self.event.iter().enumerate() {
            by_event.entry(*e).or_default().push(i);
        }
        let mut out = Vec::new();
        for members in by_event.values() {
            for (x, &a) in members.iter().enumerate() {
                for &b in &members[x + 1..] {
                    out.push((a.min(b), a.max(b)));
                }
            }
        }
        out.sort_unstable();
        out
    }
}

/// `n` headlines: families of 1–3 sibling events (hard negatives), each
/// event reported by 1–4 outlets; shuffled.
pub fn generate(r: &mut Rng, n: usize) -> Titles {
    let mut rows: Vec<(String, u32)> = Vec::with_capacity(n);
    let mut next_event = 0u32;
    // Distinct events never share a headline.
    let mut seen = std::collections::HashSet::new();
    while rows.len() < n {
        let first = event(r);
        let family = match r.below(20) {
            0..=11 => 1,
            12..=16 => 2,
            _ => 3,
        };
        let mut members = vec![first.clone()];
        while members.len() < family {
            let s = sibling(r, &first);
            members.push(s);
        }
        for e in members {
            let title = render(&e);
            if !seen.insert(title.clone()) {
                continue;
            }
            let copies = match r.below(20) {
                0..=8 => 0,
                9..=15 => 1,
                16..=18 => 2,
                _ => 3,
            };
            rows.push((title.clone(), next_event));
            for _ in 0..copies {
                rows.push((copy(r, &title), next_event));
            }
            next_event += 1;
        }
    }
    rows.truncate(n);
    // Fisher–Yates, seeded.
    for i in (1..rows.len()).rev() {
        rows.swap(i, r.below(i + 1));
    }
    let (titles, event) = rows.into_iter().unzip();
    Titles { titles, event }
}
