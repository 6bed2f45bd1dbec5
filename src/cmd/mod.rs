pub mod options;
pub enum Command { Run(options::CompletedOptions), Help(String), Version }
#[derive(Debug)]
pub struct CommandError(pub Vec<String>);
impl std::fmt::Display for CommandError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0.join("\n")) } }
pub fn new_api_server_command<I: IntoIterator<Item = std::ffi::OsString>>(_args: I) -> Result<Command, CommandError> { todo!() }
