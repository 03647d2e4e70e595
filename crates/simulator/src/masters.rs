//! Master data as the attendance system imports it: departments, employees, LanScope links.

use crate::Simulation;
use crate::manager::{field, quoted};

/// `所属コード,所属名,日付変更時間`, e.g. `100,本社,05:00`.
pub fn departments_csv(sim: &Simulation) -> String {
    let mut text = String::from("所属コード,所属名,日付変更時間\r\n");
    for d in &sim.departments {
        text.push_str(&format!("{},{},{}\r\n", field(&d.code), field(&d.name), d.day_change));
    }
    text
}

/// `従業員コード,姓,名,所属コード`, e.g. `0001,佐藤,太郎,100`.
pub fn employees_csv(sim: &Simulation) -> String {
    let mut text = String::from("従業員コード,姓,名,所属コード\r\n");
    for e in &sim.employees {
        text.push_str(&format!(
            "{},{},{},{}\r\n",
            field(&e.code),
            field(&e.last_name),
            field(&e.first_name),
            field(&e.department_code)
        ));
    }
    text
}

/// `連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント`, one LanScope link per
/// employee, e.g. `LanScope連携,"2","0001","佐藤 太郎","sato0001"`: the first column bare, the
/// others quoted, 姓・名 as 姓 + space + 名, サービスアカウント the user name without domain.
pub fn links_csv(sim: &Simulation) -> String {
    let mut text = String::from("連携種別,種別コード,打刻先アカウント,姓・名,サービスアカウント\r\n");
    for e in &sim.employees {
        text.push_str(&format!(
            "LanScope連携,{},{},{},{}\r\n",
            quoted("2"),
            quoted(&e.code),
            quoted(&format!("{} {}", e.last_name, e.first_name)),
            quoted(&e.service_account)
        ));
    }
    text
}
