//! A minimal JSON writer (the harness has no serde dependency).

use std::fmt::Write as _;

pub enum Json {
    Null,
    Bool(bool),
    /// Non-finite numbers are written as `null`.
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
        Json::Obj(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn write_str(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, i: usize| out.extend(std::iter::repeat_n(' ', i));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(x) if !x.is_finite() => out.push_str("null"),
            Json::Num(x) if x.fract() == 0.0 && x.abs() < 1e15 => {
                let _ = write!(out, "{}", *x as i64);
            }
            Json::Num(x) => {
                let _ = write!(out, "{x:.3}");
            }
            Json::Str(s) => Self::write_str(out, s),
            Json::Arr(v) if v.iter().all(|j| matches!(j, Json::Num(_))) => {
                out.push('[');
                for (i, j) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    j.write(out, indent);
                }
                out.push(']');
            }
            Json::Arr(v) => {
                out.push_str("[\n");
                for (i, j) in v.iter().enumerate() {
                    pad(out, indent + 2);
                    j.write(out, indent + 2);
                    out.push_str(if i + 1 < v.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(v) => {
                out.push_str("{\n");
                for (i, (k, j)) in v.iter().enumerate() {
                    pad(out, indent + 2);
                    Self::write_str(out, k);
                    out.push_str(": ");
                    j.write(out, indent + 2);
                    out.push_str(if i + 1 < v.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }

    pub fn pretty(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s.push('\n');
        s
    }
}
