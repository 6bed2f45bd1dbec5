//! Flags, Go style: `FlagSet` and `NamedFlagSets` as `k8s.io/component-base/cli/flag` has them,
//! parsed with lexopt the way pflag reads a command line.

use std::ffi::OsString;

use super::options::ServerRunOptions;

/// Sets one option from the flag's text value.
pub type Setter = fn(&mut ServerRunOptions, &str) -> Result<(), String>;

pub struct Flag {
    pub name: &'static str,
    /// The word `--help` shows after the name: `string`, `int`, `ip`, `strings`, `duration`.
    /// Empty for a bool, which takes no value.
    pub type_name: &'static str,
    pub default: String,
    pub usage: &'static str,
    pub set: Setter,
}

impl Flag {
    fn is_bool(&self) -> bool {
        self.type_name.is_empty()
    }
}

/// One section of `--help`: `Generic flags:`, `Etcd flags:`...
pub struct FlagSet {
    pub name: &'static str,
    pub flags: Vec<Flag>,
}

impl FlagSet {
    pub fn add(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        default: impl ToString,
        usage: &'static str,
        set: Setter,
    ) {
        self.flags.push(Flag {
            name,
            type_name,
            default: default.to_string(),
            usage,
            set,
        });
    }
}

/// Ordered flag sets: `cliflag.NamedFlagSets`.
#[derive(Default)]
pub struct NamedFlagSets {
    pub sets: Vec<FlagSet>,
}

impl NamedFlagSets {
    /// The set of that name, created at the end the first time it is asked for.
    pub fn flag_set(&mut self, name: &'static str) -> &mut FlagSet {
        if let Some(i) = self.sets.iter().position(|s| s.name == name) {
            return &mut self.sets[i];
        }
        self.sets.push(FlagSet {
            name,
            flags: Vec::new(),
        });
        self.sets.last_mut().expect("just pushed")
    }

    fn find(&self, name: &str) -> Option<&Flag> {
        self.sets
            .iter()
            .flat_map(|s| s.flags.iter())
            .find(|f| f.name == name)
    }

    /// Parses `args` into `opts`. Returns whether `--help` was asked for.
    pub fn parse(
        &self,
        args: Vec<OsString>,
        opts: &mut ServerRunOptions,
    ) -> Result<Parsed, Vec<String>> {
        use lexopt::Arg;
        let mut parser = lexopt::Parser::from_args(args);
        let mut parsed = Parsed::default();
        let mut errors = Vec::new();
        loop {
            let arg = match parser.next() {
                Ok(Some(a)) => a,
                Ok(None) => break,
                Err(e) => {
                    errors.push(e.to_string());
                    break;
                }
            };
            let name = match arg {
                Arg::Long(n) => n.to_string(),
                Arg::Short('h') => "help".into(),
                Arg::Short('v') => "v".into(),
                Arg::Short(c) => {
                    errors.push(format!("unknown shorthand flag: '{c}' in -{c}"));
                    continue;
                }
                Arg::Value(v) => {
                    errors.push(format!(
                        "unknown command {:?} for \"mini-apiserver\"",
                        v.to_string_lossy()
                    ));
                    continue;
                }
            };
            match name.as_str() {
                "help" => parsed.help = true,
                "version" => parsed.version = true,
                _ => {}
            }
            let Some(flag) = self.find(&name) else {
                errors.push(format!("unknown flag: --{name}"));
                continue;
            };
            // A bool takes `--flag` or `--flag=false`, never the next argument.
            let value = if flag.is_bool() {
                parser
                    .optional_value()
                    .map_or("true".to_string(), |v| v.to_string_lossy().into_owned())
            } else {
                match parser.value() {
                    Ok(v) => v.to_string_lossy().into_owned(),
                    Err(_) => {
                        errors.push(format!("flag needs an argument: --{name}"));
                        continue;
                    }
                }
            };
            if let Err(why) = (flag.set)(opts, &value) {
                errors.push(format!(
                    "invalid argument {value:?} for \"--{name}\" flag: {why}"
                ));
            }
        }
        if errors.is_empty() {
            Ok(parsed)
        } else {
            Err(errors)
        }
    }

    /// The `--help` text: one section per set, flags aligned, usage wrapped to `width`.
    pub fn usage(&self, width: usize) -> String {
        let mut out = String::new();
        for set in &self.sets {
            let title = set.name[..1].to_uppercase() + &set.name[1..];
            out.push_str(&format!("\n{title} flags:\n\n"));
            let lefts: Vec<String> = set
                .flags
                .iter()
                .map(|f| {
                    let short = if f.name == "v" {
                        "  -v, "
                    } else if f.name == "help" {
                        "  -h, "
                    } else {
                        "      "
                    };
                    format!("{short}--{} {}", f.name, f.type_name)
                        .trim_end()
                        .to_string()
                })
                .collect();
            let col = lefts.iter().map(String::len).max().unwrap_or(0) + 3;
            for (flag, left) in set.flags.iter().zip(&lefts) {
                let mut usage = flag.usage.to_string();
                if !flag.default.is_empty() && flag.default != "false" && flag.default != "[]" {
                    usage.push_str(&format!(" (default {})", flag.default));
                }
                let lines = wrap(&usage, width.saturating_sub(col).max(30));
                for (i, line) in lines.iter().enumerate() {
                    if i == 0 {
                        out.push_str(&format!("{left:<col$}{line}\n"));
                    } else {
                        out.push_str(&format!("{:col$}{line}\n", ""));
                    }
                }
            }
        }
        out
    }
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub help: bool,
    pub version: bool,
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// Go's `time.ParseDuration` for the units a flag uses: `1m0s`, `500ms`, `2h`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("time: invalid duration {text:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {text:?}")),
        };
        total += num * scale;
        rest = &rest[unit_len..];
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

/// Go's `Duration.String` for whole seconds and milliseconds: `1m0s`, `0s`, `500ms`.
pub fn format_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms > 0 && ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{sec}s"),
        (0, _) => format!("{m}m{sec}s"),
        _ => format!("{h}h{m}m{sec}s"),
    }
}
