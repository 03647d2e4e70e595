//! Any uploaded 連携設定 file: the import is planned or refused with reasons, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginrec_store::LinkRow;

fuzz_target!(|data: &[u8]| {
    let current = vec![
        LinkRow { employee_code: "0012".into(), full_name: "勤怠 太郎".into(), service_account: Some("tarouk".into()) },
        LinkRow { employee_code: "1000".into(), full_name: "勤怠 花子".into(), service_account: None },
    ];
    match loginrec_server::links::plan_import(data, &current) {
        Ok(plan) => assert!(plan.iter().all(|(code, _)| current.iter().any(|r| &r.employee_code == code))),
        Err(errors) => assert!(!errors.is_empty()),
    }
});
