//! Query arguments the way go-ipfs-cmds reads them: repeated `arg` for positional arguments,
//! options by long name or short alias, typed values, global options on every command. Unknown
//! options are ignored, as Kubo does (`http/parse.go` keeps them untyped and no command reads
//! them): real clients rely on it (kubo-rpc-client sends `paths`, `stream`, `metadata`).

use std::collections::HashMap;

use super::reply::RpcError;

/// The type of an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `true`/`false` (Go's `strconv.ParseBool` spellings; an empty value means true).
    Bool,
    /// A signed integer.
    Int,
    /// An unsigned integer (Go's base-0 syntax: `0644` is octal).
    Uint,
    /// A string.
    Str,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Uint => "uint",
            Kind::Str => "string",
        }
    }
}

/// One option: its names (long name first) and type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opt(pub(crate) &'static [&'static str], pub(crate) Kind);

/// Positional arguments: names, how many are required, whether the last repeats.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgSpec {
    pub(crate) names: &'static [&'static str],
    pub(crate) required: usize,
    pub(crate) variadic: bool,
}

/// Options every command accepts (Kubo's root options that make sense over HTTP).
const GLOBAL: &[Opt] = &[
    Opt(&["offline"], Kind::Bool),
    Opt(&["timeout"], Kind::Str),
    Opt(&["encoding", "enc"], Kind::Str),
    Opt(&["stream-channels"], Kind::Bool),
    Opt(&["cid-base"], Kind::Str),
    Opt(&["upgrade-cidv0-in-output"], Kind::Bool),
    Opt(&["help"], Kind::Bool),
    Opt(&["h"], Kind::Bool),
    Opt(&["debug", "D"], Kind::Bool),
    Opt(&["local", "L"], Kind::Bool),
];

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Str(String),
}

/// A parsed request: positional arguments and typed options by long name.
#[derive(Debug, Default)]
pub(crate) struct Args {
    /// Positional arguments in order.
    pub(crate) args: Vec<String>,
    /// Options this command does not know (ignored, as Kubo ignores them).
    pub(crate) ignored: Vec<String>,
    opts: HashMap<&'static str, Val>,
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "" | "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn parse_uint(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (r, 16)
    } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (r, 8)
    } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (r, 2)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Parse `query` for a command with options `opts` and positional `spec`.
pub(crate) fn parse(query: &str, opts: &[Opt], spec: ArgSpec) -> Result<Args, RpcError> {
    let mut out = Args::default();
    let mut given: HashMap<&'static str, &str> = HashMap::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "arg" {
            out.args.push(value.into_owned());
            continue;
        }
        let Some(Opt(names, kind)) = opts
            .iter()
            .chain(GLOBAL)
            .find(|o| o.0.contains(&key.as_ref()))
        else {
            out.ignored.push(key.into_owned());
            continue;
        };
        let long = names[0];
        if let Some(prev) = given.insert(long, names.iter().find(|n| **n == key).unwrap_or(&long)) {
            return Err(if prev == key {
                RpcError::client(format!("expected key {long} to have only a single value"))
            } else {
                RpcError::client(format!(
                    "duplicate command options were provided ({prev:?} and {key:?})"
                ))
            });
        }
        let bad = || {
            let value = if value.is_empty() {
                "empty value".to_string()
            } else {
                format!("value {value:?}")
            };
            RpcError::client(format!(
                "could not convert {value} to type {:?} (for option \"-{key}\")",
                kind.name()
            ))
        };
        let v = match kind {
            Kind::Bool => Val::Bool(parse_bool(&value).ok_or_else(bad)?),
            Kind::Int => Val::Int(value.parse().map_err(|_| bad())?),
            Kind::Uint => Val::Uint(parse_uint(&value).ok_or_else(bad)?),
            Kind::Str => Val::Str(value.into_owned()),
        };
        out.opts.insert(long, v);
    }
    let n = out.args.len();
    if n < spec.required {
        let name = spec
            .names
            .get(n)
            .or(spec.names.last())
            .copied()
            .unwrap_or("arg");
        return Err(RpcError::client(format!("argument {name:?} is required")));
    }
    if !spec.variadic && n > spec.names.len() {
        return Err(RpcError::client(format!(
            "expected {} argument(s), got {n}",
            spec.names.len()
        )));
    }
    if let Some(enc) = out.str("encoding")
        && enc != "json"
    {
        return Err(RpcError::client(format!(
            "encoding {enc:?} is not supported over HTTP here (use json)"
        )));
    }
    Ok(out)
}

impl Args {
    /// A boolean option, if given.
    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        match self.opts.get(name) {
            Some(Val::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A boolean option, `default` when absent.
    pub(crate) fn flag(&self, name: &str, default: bool) -> bool {
        self.bool(name).unwrap_or(default)
    }

    /// A signed integer option.
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        match self.opts.get(name) {
            Some(Val::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// An unsigned integer option.
    pub(crate) fn uint(&self, name: &str) -> Option<u64> {
        match self.opts.get(name) {
            Some(Val::Uint(i)) => Some(*i),
            _ => None,
        }
    }

    /// A string option.
    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        match self.opts.get(name) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The first positional argument (checked present by the spec).
    pub(crate) fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }

    /// The `timeout` global option as a duration (Go duration syntax).
    pub(crate) fn timeout(&self) -> Result<Option<std::time::Duration>, RpcError> {
        self.str("timeout").map(parse_duration).transpose()
    }
}

/// Go's `time.ParseDuration` for the units people use (`ns`, `us`, `ms`, `s`, `m`, `h`).
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, RpcError> {
    let bad = || RpcError::client(format!("time: invalid duration {s:?}"));
    let mut rest = s.trim();
    if rest == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt(&["recursive", "r"], Kind::Bool),
        Opt(&["offset", "o"], Kind::Int),
        Opt(&["mode"], Kind::Uint),
    ];
    const SPEC: ArgSpec = ArgSpec {
        names: &["ipfs-path"],
        required: 1,
        variadic: true,
    };

    #[test]
    fn parses_kubo_queries() {
        let a = parse(
            "arg=a&arg=b&r=false&offset=5&mode=0644&enc=json",
            OPTS,
            SPEC,
        )
        .unwrap();
        assert_eq!(a.args, ["a", "b"]);
        assert_eq!(a.bool("recursive"), Some(false));
        assert_eq!(a.int("offset"), Some(5));
        assert_eq!(a.uint("mode"), Some(0o644));
        assert_eq!(
            parse("arg=a&bogus=1", OPTS, SPEC).unwrap().ignored,
            ["bogus"]
        );
        assert!(parse("arg=a&r=true&recursive=true", OPTS, SPEC).is_err());
        assert!(parse("arg=a&offset=x", OPTS, SPEC).is_err());
        assert!(parse("", OPTS, SPEC).is_err());
        assert_eq!(parse_duration("1m30s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert!(parse_duration("5x").is_err());
    }
}
