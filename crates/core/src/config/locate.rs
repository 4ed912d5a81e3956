//! Parsing with located errors: from a TOML span or a JSON position to a line, column and
//! field path, and back from a field path (`stages[1].plugin`) to a line and column.

use toml_edit::{Item, Value as TValue};

use super::{Config, ConfigError, Format};

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_owned()));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

pub(super) fn parse_toml(text: &str, file: &str) -> Result<Config, ConfigError> {
    toml::from_str::<Config>(text).map_err(|e| {
        let (line, column, field) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c), toml_path_at(text, span.start))
            }
            None => (None, None, None),
        };
        ConfigError {
            file: file.into(),
            line,
            column,
            field,
            message: e.message().trim().to_owned(),
            hint: None,
        }
    })
}

pub(super) fn parse_json(text: &str, file: &str) -> Result<Config, ConfigError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, Config>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        ConfigError {
            file: file.into(),
            line: Some(inner.line()),
            column: Some(inner.column()),
            field: (path != ".").then_some(path),
            message,
            hint: None,
        }
    })
}

/// Line and column of the value at `path`, when it exists in the text.
pub(super) fn position_of(text: &str, format: Format, path: &str) -> Option<(usize, usize)> {
    let offset = match format {
        Format::Toml => toml_offset(text, path),
        Format::Json => json_offset(text, path),
    }?;
    Some(line_col(text, offset))
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a toml_edit::Table),
    Inline(&'a toml_edit::InlineTable),
    Array(&'a toml_edit::Array),
    Tables(&'a toml_edit::ArrayOfTables),
    Leaf(Option<usize>),
}

fn node(item: &Item) -> Node<'_> {
    match item {
        Item::Table(t) => Node::Table(t),
        Item::ArrayOfTables(a) => Node::Tables(a),
        Item::Value(v) => value_node(v),
        Item::None => Node::Leaf(None),
    }
}

fn value_node(v: &TValue) -> Node<'_> {
    match v {
        TValue::InlineTable(t) => Node::Inline(t),
        TValue::Array(a) => Node::Array(a),
        other => Node::Leaf(other.span().map(|s| s.start)),
    }
}

fn node_span(n: Node<'_>) -> Option<usize> {
    match n {
        Node::Table(t) => t.span().map(|s| s.start),
        Node::Inline(t) => t.span().map(|s| s.start),
        Node::Array(a) => a.span().map(|s| s.start),
        Node::Tables(a) => a.span().map(|s| s.start),
        Node::Leaf(s) => s,
    }
}

fn toml_offset(text: &str, path: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut cur = Node::Table(doc.as_table());
    let mut last = None;
    for seg in segments(path) {
        let next = match (&seg, cur) {
            (Seg::Key(k), Node::Table(t)) => {
                last = t.key(k).and_then(|k| k.span()).map(|s| s.start).or(last);
                t.get(k).map(node)
            }
            (Seg::Key(k), Node::Inline(t)) => {
                last = t.key(k).and_then(|k| k.span()).map(|s| s.start).or(last);
                t.get(k).map(value_node)
            }
            (Seg::Index(i), Node::Tables(a)) => a.get(*i).map(|t| {
                last = t.span().map(|s| s.start).or(last);
                Node::Table(t)
            }),
            (Seg::Index(i), Node::Array(a)) => a.get(*i).map(value_node),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return last,
        }
    }
    node_span(cur).or(last)
}

fn toml_path_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut path = String::new();
    let mut table = doc.as_table();
    'outer: loop {
        for (key, item) in table.iter() {
            let key_span = table.key(key).and_then(|k| k.span());
            let inside = |s: Option<std::ops::Range<usize>>| {
                s.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
            };
            match item {
                Item::ArrayOfTables(a) => {
                    for (i, t) in a.iter().enumerate() {
                        if inside(t.span())
                            || t.iter().any(|(k, v)| {
                                inside(t.key(k).and_then(|k| k.span())) || inside(v.span())
                            })
                        {
                            push(&mut path, key);
                            path.push_str(&format!("[{i}]"));
                            table = t;
                            continue 'outer;
                        }
                    }
                }
                Item::Table(t) if inside(t.span()) || t.iter().any(|(_, v)| inside(v.span())) => {
                    push(&mut path, key);
                    table = t;
                    continue 'outer;
                }
                _ if inside(key_span) || inside(item.span()) => {
                    push(&mut path, key);
                    if let Item::Value(TValue::InlineTable(t)) = item {
                        for (k, v) in t.iter() {
                            if inside(v.span()) || inside(t.key(k).and_then(|k| k.span())) {
                                push(&mut path, k);
                            }
                        }
                    }
                    return Some(path);
                }
                _ => {}
            }
        }
        return (!path.is_empty()).then_some(path);
    }
}

fn push(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// Byte offset of the value at `path` in JSON text, by a small scanner.
fn json_offset(text: &str, path: &str) -> Option<usize> {
    let want = segments(path);
    let b = text.as_bytes();
    let mut pos = 0;
    let mut found = None;
    for seg in &want {
        skip_ws(b, &mut pos);
        match (seg, b.get(pos)?) {
            (Seg::Key(k), b'{') => {
                pos += 1;
                loop {
                    skip_ws(b, &mut pos);
                    if b.get(pos)? == &b'}' {
                        return found;
                    }
                    let key_start = pos;
                    let key = read_string(b, &mut pos)?;
                    skip_ws(b, &mut pos);
                    pos += 1; // ':'
                    skip_ws(b, &mut pos);
                    if &key == k {
                        found = Some(key_start);
                        break;
                    }
                    skip_value(b, &mut pos)?;
                    skip_ws(b, &mut pos);
                    if b.get(pos) == Some(&b',') {
                        pos += 1;
                    }
                }
            }
            (Seg::Index(i), b'[') => {
                pos += 1;
                for _ in 0..*i {
                    skip_ws(b, &mut pos);
                    skip_value(b, &mut pos)?;
                    skip_ws(b, &mut pos);
                    if b.get(pos) != Some(&b',') {
                        return found;
                    }
                    pos += 1;
                }
                skip_ws(b, &mut pos);
                found = Some(pos);
            }
            _ => return found,
        }
    }
    found
}

fn skip_ws(b: &[u8], pos: &mut usize) {
    while b.get(*pos).is_some_and(u8::is_ascii_whitespace) {
        *pos += 1;
    }
}

fn read_string(b: &[u8], pos: &mut usize) -> Option<String> {
    if b.get(*pos)? != &b'"' {
        return None;
    }
    let start = *pos + 1;
    *pos += 1;
    while *b.get(*pos)? != b'"' {
        if b[*pos] == b'\\' {
            *pos += 1;
        }
        *pos += 1;
    }
    *pos += 1;
    String::from_utf8(b[start..*pos - 1].to_vec()).ok()
}

fn skip_value(b: &[u8], pos: &mut usize) -> Option<()> {
    match b.get(*pos)? {
        b'"' => read_string(b, pos).map(|_| ()),
        b'{' | b'[' => {
            let mut depth = 0i32;
            loop {
                match b.get(*pos)? {
                    b'"' => {
                        read_string(b, pos)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            *pos += 1;
                            return Some(());
                        }
                    }
                    _ => {}
                }
                *pos += 1;
            }
        }
        _ => {
            while !matches!(b.get(*pos), None | Some(b',' | b'}' | b']')) {
                *pos += 1;
            }
            Some(())
        }
    }
}
