//! The Windows service `LanScopeConnector`: registration with the service control manager
//! (SCM), and `service run`, the entry the SCM starts.
//!
//! The SCM starts `"<exe>" --config <path> service run` as LocalSystem in System32; the
//! configuration path is absolute, and so is every path derived from it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use windows_service::service::{
    Service, ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo,
    ServiceStartType, ServiceState as ScmState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult, ServiceStatusHandle};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};
use winreg::RegKey;
use winreg::enums::HKEY_LOCAL_MACHINE;

use super::{DESCRIPTION, DISPLAY_NAME, Restart, SERVICE_NAME, ServiceState};
use crate::config::Config;
use crate::{SHUTDOWN_GRACE, run_daemon};

const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_SERVICE_ALREADY_RUNNING: i32 = 1056;
const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_NOT_ACTIVE: i32 = 1062;
const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
const ERROR_SERVICE_MARKED_FOR_DELETE: i32 = 1072;
const ERROR_SERVICE_EXISTS: i32 = 1073;

/// Where Windows' プログラムと機能 (Programs and Features) finds the programs it lists.
const PROGRAMS_KEY: &str = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\LanScopeConnector";

/// What the SCM is told to allow for starting, and for stopping (the grace plus a margin).
const START_WAIT_HINT: Duration = Duration::from_secs(30);
const STOP_WAIT_HINT: Duration = Duration::from_secs(SHUTDOWN_GRACE.as_secs() + 10);
/// How long `stop`, `uninstall` and a restart wait for the service to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(SHUTDOWN_GRACE.as_secs() + 30);

fn os_code(e: &windows_service::Error) -> Option<i32> {
    match e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    }
}

/// An error as Windows words it, with its number ("IO error in winapi call" says neither).
fn os_error_text(e: &windows_service::Error) -> String {
    match os_code(e) {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => e.to_string(),
    }
}

/// An SCM error in plain words.
fn scm_error(what: &str, e: windows_service::Error) -> anyhow::Error {
    match os_code(&e) {
        Some(ERROR_ACCESS_DENIED) => {
            anyhow::anyhow!("{what}: access denied; run the command prompt as administrator (管理者として実行)")
        }
        Some(ERROR_SERVICE_DOES_NOT_EXIST) => anyhow::anyhow!(
            "{what}: 連携サービスはインストールされていません (the service {SERVICE_NAME} is not installed); \
             install it with `lanscope-connector service install`"
        ),
        Some(ERROR_SERVICE_EXISTS) => anyhow::anyhow!(
            "{what}: the service {SERVICE_NAME} is already installed; `service uninstall` it first to change it"
        ),
        Some(ERROR_SERVICE_MARKED_FOR_DELETE) => anyhow::anyhow!(
            "{what}: the service {SERVICE_NAME} is being removed; close the Services window and try again"
        ),
        _ => anyhow::anyhow!("{what}: {}", os_error_text(&e)),
    }
}

fn manager(access: ServiceManagerAccess) -> anyhow::Result<ServiceManager> {
    ServiceManager::local_computer(None::<&str>, access).map_err(|e| scm_error("cannot open the service manager", e))
}

fn open(access: ServiceAccess) -> anyhow::Result<Option<Service>> {
    let manager = manager(ServiceManagerAccess::CONNECT)?;
    match manager.open_service(SERVICE_NAME, access) {
        Ok(service) => Ok(Some(service)),
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_DOES_NOT_EXIST) => Ok(None),
        Err(e) => Err(scm_error("cannot open the service", e)),
    }
}

fn open_installed(access: ServiceAccess) -> anyhow::Result<Service> {
    open(access)?.ok_or_else(|| {
        anyhow::anyhow!(
            "連携サービスはインストールされていません (the service {SERVICE_NAME} is not installed); \
             install it with `lanscope-connector service install`"
        )
    })
}

pub fn install(exe: &Path, config: &Path) -> anyhow::Result<String> {
    let manager = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let info = ServiceInfo {
        name: OsString::from(SERVICE_NAME),
        display_name: OsString::from(DISPLAY_NAME),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe.to_path_buf(),
        launch_arguments: vec![
            OsString::from("--config"),
            config.as_os_str().to_os_string(),
            OsString::from("service"),
            OsString::from("run"),
        ],
        dependencies: vec![],
        account_name: None,
        account_password: None,
    };
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::START | ServiceAccess::QUERY_STATUS;
    let service = manager.create_service(&info, access).map_err(|e| scm_error("cannot install the service", e))?;
    service.set_description(DESCRIPTION).map_err(|e| scm_error("cannot describe the service", e))?;
    // Restarted by the SCM when it ends without being asked to.
    let restart = |secs| ServiceAction { action_type: ServiceActionType::Restart, delay: Duration::from_secs(secs) };
    let actions = ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 60 * 60)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![restart(10), restart(60), restart(300)]),
    };
    if let Err(e) = service.update_failure_actions(actions) {
        tracing::warn!(error = %os_error_text(&e), "Cannot set the service's restart on failure.");
    }
    // Also when it ends with an error of its own, not only when it crashes.
    if let Err(e) = service.set_failure_actions_on_non_crash_failures(true) {
        tracing::warn!(error = %os_error_text(&e), "Cannot set the service's restart after an error exit.");
    }
    if let Err(e) = list_in_programs(exe, config) {
        tracing::warn!(error = %e, "Cannot list the connector in Programs and Features (プログラムと機能).");
    }
    let mut message = format!(
        "連携サービスをインストールしました (installed the service {SERVICE_NAME}, automatic start): \"{}\" --config \"{}\" service run",
        exe.display(),
        config.display()
    );
    if let Err(e) = service.start(&[] as &[&OsStr]).map_err(|e| scm_error("cannot start the service", e)) {
        return Err(e.context(format!("{message}\nbut the service could not be started")));
    }
    if let Err(e) = wait_running(&service) {
        return Err(e.context(format!("{message}\nbut the service did not start")));
    }
    message.push_str("\n連携サービスを開始しました (started).");
    Ok(message)
}

pub fn uninstall() -> anyhow::Result<String> {
    let Some(service) = open(ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)? else {
        unlist_from_programs()?;
        return Ok(format!("連携サービスはインストールされていません (the service {SERVICE_NAME} is not installed)."));
    };
    stop_and_wait(&service)?;
    service.delete().map_err(|e| scm_error("cannot remove the service", e))?;
    unlist_from_programs()?;
    Ok(format!("連携サービスをアンインストールしました (uninstalled the service {SERVICE_NAME})."))
}

/// Lists the connector in プログラムと機能, where the manual removes it (seed §5.3: 右クリック →
/// アンインストール), that command running `service uninstall`: the service goes, the
/// configuration and the outbox stay, as from the command line.
fn list_in_programs(exe: &Path, config: &Path) -> std::io::Result<()> {
    let (key, _) = RegKey::predef(HKEY_LOCAL_MACHINE).create_subkey(PROGRAMS_KEY)?;
    let uninstall = format!("\"{}\" --config \"{}\" service uninstall", exe.display(), config.display());
    key.set_value("DisplayName", &DISPLAY_NAME)?;
    key.set_value("DisplayVersion", &env!("CARGO_PKG_VERSION"))?;
    key.set_value("DisplayIcon", &exe.display().to_string())?;
    key.set_value("UninstallString", &uninstall)?;
    if let Some(folder) = exe.parent() {
        key.set_value("InstallLocation", &folder.display().to_string())?;
    }
    // Nothing to change or repair: only removal is offered.
    key.set_value("NoModify", &1u32)?;
    key.set_value("NoRepair", &1u32)?;
    Ok(())
}

fn unlist_from_programs() -> anyhow::Result<()> {
    match RegKey::predef(HKEY_LOCAL_MACHINE).delete_subkey_all(PROGRAMS_KEY) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => {
            Err(anyhow::anyhow!("cannot remove the connector from Programs and Features (プログラムと機能): {e}"))
        }
    }
}

pub fn start() -> anyhow::Result<String> {
    let service = open_installed(ServiceAccess::START | ServiceAccess::QUERY_STATUS)?;
    match service.start(&[] as &[&OsStr]) {
        Ok(()) => {
            wait_running(&service)?;
            Ok("連携サービスを開始しました (started).".into())
        }
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_ALREADY_RUNNING) => {
            Ok("連携サービスは既に稼働中です (already running).".into())
        }
        Err(e) => Err(scm_error("cannot start the service", e)),
    }
}

/// Waits until a service just started reports Running: it does once its outbox is open, or it
/// stops, having logged why (another connector already running on the outbox, say).
fn wait_running(service: &Service) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_WAIT_HINT;
    loop {
        let status = service.query_status().map_err(|e| scm_error("cannot ask the service's state", e))?;
        match status.current_state {
            ScmState::Running => return Ok(()),
            // `status` does not show where the log is: said here.
            ScmState::Stopped => anyhow::bail!(
                "the service stopped as it started ({:?}); its log says why: the logs folder of the \
                 connector's data folder (C:\\ProgramData\\LanScopeConnector\\logs unless data_dir says otherwise)",
                status.exit_code
            ),
            _ if Instant::now() > deadline => {
                anyhow::bail!("the service did not start within {} seconds", START_WAIT_HINT.as_secs())
            }
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

pub fn stop() -> anyhow::Result<String> {
    let service = open_installed(ServiceAccess::STOP | ServiceAccess::QUERY_STATUS)?;
    stop_and_wait(&service)?;
    Ok("連携サービスを停止しました (stopped).".into())
}

pub fn state() -> ServiceState {
    let service = match open(ServiceAccess::QUERY_STATUS) {
        Ok(Some(service)) => service,
        Ok(None) => return ServiceState::NotInstalled,
        Err(e) => return ServiceState::Unknown(format!("{e:#}")),
    };
    match service.query_status() {
        Ok(status) => match status.current_state {
            ScmState::Running => ServiceState::Running,
            ScmState::Stopped => ServiceState::Stopped("stopped".into()),
            ScmState::Paused => ServiceState::Stopped("paused".into()),
            other => ServiceState::Pending(format!("{other:?}")),
        },
        Err(e) => ServiceState::Unknown(format!("{}", scm_error("cannot ask the service's state", e))),
    }
}

pub fn restart_if_running() -> anyhow::Result<Restart> {
    let service = match open(ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::START) {
        Ok(Some(service)) => service,
        Ok(None) => return Ok(Restart::NotInstalled),
        Err(e) => return Ok(Restart::Unknown(format!("{e:#}"))),
    };
    let status = service.query_status().map_err(|e| scm_error("cannot ask the service's state", e))?;
    if matches!(status.current_state, ScmState::Stopped | ScmState::Paused) {
        return Ok(Restart::NotRunning);
    }
    stop_and_wait(&service)?;
    service.start(&[] as &[&OsStr]).map_err(|e| scm_error("cannot start the service again", e))?;
    wait_running(&service)?;
    Ok(Restart::Restarted)
}

/// Asks the service to stop and waits until it has.
fn stop_and_wait(service: &Service) -> anyhow::Result<()> {
    match service.stop() {
        Ok(_) => {}
        Err(e) if os_code(&e) == Some(ERROR_SERVICE_NOT_ACTIVE) => return Ok(()),
        Err(e) => return Err(scm_error("cannot stop the service", e)),
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        let status = service.query_status().map_err(|e| scm_error("cannot ask the service's state", e))?;
        if status.current_state == ScmState::Stopped {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("the service did not stop within {} seconds", STOP_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

// ---------------------------------------------------------------------------------------------
// `service run`: the process the SCM starts.

/// The configuration path of this service process, set before the dispatcher starts.
static CONFIG_PATH: OnceLock<PathBuf> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// Hands this thread to the SCM until the service stops.
pub fn run_dispatcher(config_path: &Path) -> anyhow::Result<()> {
    let _ = CONFIG_PATH.set(config_path.to_path_buf());
    match service_dispatcher::start(SERVICE_NAME, ffi_service_main) {
        Ok(()) => Ok(()),
        Err(e) if os_code(&e) == Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) => anyhow::bail!(
            "`service run` is for the Windows service manager; use `lanscope-connector service start`, \
             or `lanscope-connector run` to run in this window"
        ),
        Err(e) => Err(scm_error("cannot start the service dispatcher", e)),
    }
}

fn service_main(_arguments: Vec<OsString>) {
    if let Err(e) = run_service() {
        tracing::error!(error = %format!("{e:#}"), "The service stopped with an error.");
    }
}

fn report(
    handle: ServiceStatusHandle,
    state: ScmState,
    controls: ServiceControlAccept,
    exit_code: ServiceExitCode,
    checkpoint: u32,
    wait_hint: Duration,
) {
    let status = ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: controls,
        exit_code,
        checkpoint,
        wait_hint,
        process_id: None,
    };
    if let Err(e) = handle.set_service_status(status) {
        tracing::warn!(error = %e, state = ?state, "Cannot report the service's state.");
    }
}

fn run_service() -> anyhow::Result<()> {
    let config_path = CONFIG_PATH.get().cloned().ok_or_else(|| anyhow::anyhow!("no configuration path"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            let _ = stop_tx.send(true);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    // Said as Windows says it: in this process "not installed" would mislead.
    let handle = service_control_handler::register(SERVICE_NAME, handler)
        .map_err(|e| anyhow::anyhow!("cannot register the service's control handler: {}", os_error_text(&e)))?;
    let none = ServiceControlAccept::empty();
    report(handle, ScmState::StartPending, none, ServiceExitCode::NO_ERROR, 1, START_WAIT_HINT);

    let result = (|| -> anyhow::Result<()> {
        let config = Config::load(&config_path)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        runtime.block_on(async {
            let accept = ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN;
            // Running only once the outbox is open and ours: `start` waits for it.
            let started = || report(handle, ScmState::Running, accept, ServiceExitCode::NO_ERROR, 0, Duration::ZERO);
            let mut stop_rx = stop_rx;
            run_daemon(&config, &config_path, started, async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
                tracing::info!("The service manager asked the connector to stop.");
                report(handle, ScmState::StopPending, none, ServiceExitCode::NO_ERROR, 1, STOP_WAIT_HINT);
            })
            .await
        })
    })();
    let exit_code = match &result {
        Ok(()) => ServiceExitCode::NO_ERROR,
        Err(_) => ServiceExitCode::ServiceSpecific(1),
    };
    report(handle, ScmState::Stopped, none, exit_code, 0, Duration::ZERO);
    result
}
