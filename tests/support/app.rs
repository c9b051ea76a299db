//! Running the real Tauri app under test: Xvfb on a free display, tools
//! found on PATH (or failing with what to install), and child processes
//! killed with everything they started.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when the test ends, however it ends, with every
/// process it started (tauri-driver starts WebKitWebDriver, which starts
/// the app): each is spawned as the leader of its own process group.
pub struct Killed(Child);

impl Killed {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> Killed {
        use std::os::unix::process::CommandExt;
        Killed(command.process_group(0).spawn().unwrap())
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A program on PATH or in ~/.cargo/bin; panics naming how to install it.
pub fn tool(name: &str, install: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")))
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| panic!("{name} is not installed: {install} (bash .ci/setup does it)"))
}

/// Starts Xvfb on a free display number; returns it with its display name.
pub fn xvfb() -> (Killed, String) {
    let xvfb = tool("Xvfb", "apt-get install xvfb");
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X{n}-lock")).exists() || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let mut child = Killed::spawn(
            Command::new(&xvfb)
                .args([
                    format!(":{n}").as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (child, format!(":{n}"));
            }
            if child.0.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("could not start Xvfb on any display from :90 to :139");
}
