//! Background jobs across processes: scheduled once, run by one holder, taken over after a
//! crash. Several `Store` handles on one database stand for several server processes.
//!
//! Every test runs on a fresh database as `…_sqlite` and `…_postgres`; the PostgreSQL ones are
//! ignored unless `LOGINREC_TEST_POSTGRES_URL` names a server (see `test-support`).

use std::time::Duration;

use loginrec_rules::DayChangeTime;
use loginrec_store::jobs::kind;
use loginrec_store::{DepartmentInput, EmployeeInput};
use loginrec_worker::jobs::{JobSettings, run_jobs, schedule_due};
use test_support::TestDb;

test_support::engine_tests! {
    async fn a_slot_scheduled_by_many_processes_exists_once_and_runs_once(engine: Engine) {
        let db = TestDb::new(engine).await;
        let fleet = [db.store().await, db.store().await, db.store().await];
        for store in &fleet {
            store.jobs().schedule_job(kind::LOG_PURGE, 0, "2024-02-09", 0).await.unwrap();
        }
        let mut claims = Vec::new();
        for (i, store) in fleet.iter().enumerate() {
            let store = store.clone();
            claims.push(tokio::spawn(async move { store.jobs().claim_job(&format!("worker-{i}"), 60_000).await.unwrap() }));
        }
        let mut claimed = Vec::new();
        for c in claims {
            claimed.extend(c.await.unwrap());
        }
        assert_eq!(claimed.len(), 1, "{engine:?}: exactly one process holds the job");
        let jobs = fleet[0].jobs().list(kind::LOG_PURGE, None).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].state, "running");
        for store in fleet {
            store.close().await;
        }
        db.cleanup().await;
    }

    async fn a_job_whose_process_died_is_taken_over_after_its_lease(engine: Engine) {
        let db = TestDb::new(engine).await;
        let (a, b) = (db.store().await, db.store().await);
        a.jobs().schedule_job(kind::LOG_PURGE, 0, "2024-02-09", 0).await.unwrap();
        let held = a.jobs().claim_job("dead-process", 1).await.unwrap().expect("a due job");
        // Once the lease has run out, the next process takes the job over.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let taken = b.jobs().claim_job("survivor", 60_000).await.unwrap().expect("the job is due again");
        assert_eq!((taken.id, taken.attempts), (held.id, 2));
        assert!(
            !a.jobs().finish_job(&held, "dead-process", Ok("late".into())).await.unwrap(),
            "the old holder cannot finish it"
        );
        assert!(b.jobs().finish_job(&taken, "survivor", Ok("deleted=0".into())).await.unwrap());
        let jobs = b.jobs().list(kind::LOG_PURGE, None).await.unwrap();
        assert_eq!((jobs[0].state.as_str(), jobs[0].result.as_deref()), ("done", Some("deleted=0")));
        assert!(b.jobs().claim_job("survivor", 60_000).await.unwrap().is_none(), "a done job does not run again");
        a.close().await;
        b.close().await;
        db.cleanup().await;
    }

    async fn the_daily_employee_sync_runs_once_a_day_and_is_recorded(engine: Engine) {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        let company = store.create_company("ABC", "x", "Asia/Tokyo").await.unwrap();
        store
            .attendance().upsert_departments(
                company.id,
                &[DepartmentInput { code: "1".into(), name: "本社".into(), day_change: DayChangeTime::MIDNIGHT }],
            )
            .await
            .unwrap();
        store
            .attendance().upsert_employees(
                company.id,
                &[EmployeeInput {
                    code: "0001".into(),
                    last_name: "a".into(),
                    first_name: "b".into(),
                    department_code: "1".into(),
                }],
            )
            .await
            .unwrap();
        let settings = JobSettings {
            employee_sync_at: jiff::civil::Time::constant(0, 0, 0, 0),
            poll: Duration::from_millis(50),
            ..JobSettings::default()
        };
        // Three job loops, as three server processes would run.
        let (stop, rx) = tokio::sync::watch::channel(false);
        let loops: Vec<_> = (0..3)
            .map(|i| {
                let settings = JobSettings { worker: format!("p{i}"), ..settings.clone() };
                tokio::spawn(run_jobs(store.clone(), settings, rx.clone()))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(400)).await;
        schedule_due(&store, &settings).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.send(true).unwrap();
        for l in loops {
            l.await.unwrap();
        }
        let syncs = store.jobs().list(kind::EMPLOYEE_SYNC, Some(company.id)).await.unwrap();
        assert_eq!(syncs.len(), 1, "{engine:?}: {syncs:?}");
        assert_eq!((syncs[0].state.as_str(), syncs[0].attempts), ("done", 1));
        assert_eq!(syncs[0].result.as_deref(), Some("added=0 updated=0 removed=0"));
        // The remote service's time records are read for remote-mode companies only.
        assert!(store.jobs().list(kind::REMOTE_TIME_RECORDS, Some(company.id)).await.unwrap().is_empty(), "{engine:?}");
        store.close().await;
        db.cleanup().await;
    }

    async fn purging_deletes_only_logs_older_than_the_cut(engine: Engine) {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        let company = store.create_company("ABC", "x", "Asia/Tokyo").await.unwrap();
        let info = ingest_protocol::ConnectorInfo { version: "1".into(), host: "h".into(), collection_start: None };
        let rows: Vec<_> = [1_000_000_000_000i64, 1_700_000_000_000]
            .into_iter()
            .map(|ms| {
                ingest_protocol::IngestRow::new(
                    "ABC",
                    "u".into(),
                    loginrec_rules::LogKind::Logon,
                    ms,
                    None,
                    None,
                    None,
                    None,
                )
            })
            .collect();
        store.ingest(&company, &info, &rows).await.unwrap();
        assert_eq!(store.purge_logs_before(1_500_000_000_000).await.unwrap(), 1);
        assert_eq!(store.log_count(company.id).await.unwrap(), 1);
        store.close().await;
        db.cleanup().await;
    }

    async fn sqlite_backups_are_complete_copies_and_postgres_points_to_pg_dump(engine: Engine) {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        store.create_company("ABC", "x", "Asia/Tokyo").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("backup.db");
        match engine {
            test_support::Engine::Sqlite => {
                store.backup_sqlite(&target).await.unwrap();
                let copy = loginrec_store::Store::connect(&format!("sqlite://{}", target.display())).await.unwrap();
                assert_eq!(copy.companies().await.unwrap().len(), 1);
                assert!(store.backup_sqlite(&target).await.is_err(), "an existing file is never overwritten");
            }
            test_support::Engine::Postgres => {
                let err = store.backup_sqlite(&target).await.unwrap_err();
                assert!(err.to_string().contains("pg_dump"));
            }
        }
        store.close().await;
        db.cleanup().await;
    }
}
