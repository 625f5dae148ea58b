//! Allow and deny lists: the user's say over what a report shows, applied
//! when a report is assembled, never when names are counted. A changed
//! list therefore changes the next report, and nothing counted is lost
//! while a name is allowed.
//!
//! ```text
//! # one entry a line; '#' starts a comment, anywhere on a line
//! example.com        # that name only
//! *.example.com      # the names under it, not example.com itself
//! .example.com       # both
//! ```
//!
//! Entries are lowercased and a trailing dot is dropped; labels follow the
//! rules of the suffix lists ([`crate::score::lists`]). A `*` anywhere but
//! as the whole first label, or any other bad line, makes the file an
//! error naming `file:line`.
//!
//! - A name on the **allow** list is left out of findings and name rows: a
//!   finding whose names are all allowed disappears, a finding keeps its
//!   other names. The report counts what was hidden.
//! - A name on the **deny** list is always shown and flagged, whatever its
//!   score, `--top` or `--min-score`: one `denied` finding per deny entry
//!   that matched (score 100, first in the report), and its name row, marked
//!   `deny`, ahead of the others.
//! - A name on both is denied: the deny list wins.

use std::{
    borrow::Cow,
    fmt,
    path::{Path, PathBuf},
};

use hashbrown::HashMap;

use super::lists::{EntryProblem, normalize};

/// Which list an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListRole {
    /// Names hidden from reports.
    Allow,
    /// Names always shown and flagged.
    Deny,
}

impl ListRole {
    /// `allow` or `deny`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for ListRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an allow or deny entry is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternProblem {
    /// The name part is not a valid domain name.
    #[error(transparent)]
    Name(#[from] EntryProblem),
    /// A `*` other than a leading `*.`.
    #[error("'*' only as the whole first label ('*.example.com')")]
    Wildcard,
}

/// An allow or deny list that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// A line that is neither blank, a comment nor a valid entry.
    #[error("{}:{line}: {role} list: {problem}: {entry:?}", path_text(.path.as_deref()))]
    BadEntry {
        /// Which list.
        role: ListRole,
        /// The file; `None` for text parsed directly.
        path: Option<PathBuf>,
        /// One-based line number.
        line: usize,
        /// The entry as written, comment and surrounding space removed.
        entry: String,
        /// What is wrong with it.
        problem: PatternProblem,
    },
    /// The file could not be read.
    #[error("cannot read the {role} list {}: {source}", .path.display())]
    Read {
        /// Which list.
        role: ListRole,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn path_text(path: Option<&Path>) -> String {
    path.map_or_else(|| "<text>".to_owned(), |p| p.display().to_string())
}

/// Names and subtrees, matched exactly: `example.com` (the name),
/// `*.example.com` (names under it), `.example.com` (both).
#[derive(Clone, Debug, Default)]
pub struct NamePatterns {
    /// Names matched as they are, to the entry that lists them.
    exact: HashMap<Box<str>, Box<str>>,
    /// Domains whose proper subdomains match, to the entry that lists them.
    under: HashMap<Box<str>, Box<str>>,
    /// Entries read (duplicates included).
    entries: usize,
}

impl NamePatterns {
    /// Parses list text; the first bad line is an error with its number.
    pub fn parse(role: ListRole, text: &str) -> Result<Self, PatternError> {
        let mut list = Self::default();
        for (index, raw) in text.lines().enumerate() {
            let entry = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
            if entry.is_empty() {
                continue;
            }
            list.add(entry).map_err(|problem| PatternError::BadEntry {
                role,
                path: None,
                line: index + 1,
                entry: entry.to_owned(),
                problem,
            })?;
        }
        Ok(list)
    }

    /// Reads and parses a list file; errors name `file:line`.
    pub fn from_file(role: ListRole, path: &Path) -> Result<Self, PatternError> {
        let text = std::fs::read_to_string(path).map_err(|source| PatternError::Read {
            role,
            path: path.to_owned(),
            source,
        })?;
        Self::parse(role, &text).map_err(|err| match err {
            PatternError::BadEntry {
                role,
                line,
                entry,
                problem,
                ..
            } => PatternError::BadEntry {
                role,
                path: Some(path.to_owned()),
                line,
                entry,
                problem,
            },
            other => other,
        })
    }

    /// Adds the entries of `other`.
    pub fn extend(&mut self, other: NamePatterns) {
        for (k, v) in other.exact {
            self.exact.entry(k).or_insert(v);
        }
        for (k, v) in other.under {
            self.under.entry(k).or_insert(v);
        }
        self.entries += other.entries;
    }

    fn add(&mut self, entry: &str) -> Result<(), PatternProblem> {
        let (rest, exact, under) = if let Some(rest) = entry.strip_prefix("*.") {
            (rest, false, true)
        } else if let Some(rest) = entry.strip_prefix('.') {
            (rest, true, true)
        } else {
            (entry, true, false)
        };
        if rest.contains('*') {
            return Err(PatternProblem::Wildcard);
        }
        if rest.starts_with('.') {
            return Err(EntryProblem::EmptyLabel.into());
        }
        let name = normalize(rest)?;
        let written: Box<str> = match (exact, under) {
            (true, true) => format!(".{name}"),
            (false, true) => format!("*.{name}"),
            _ => name.clone(),
        }
        .into();
        if exact {
            self.exact
                .entry(name.clone().into())
                .or_insert_with(|| written.clone());
        }
        if under {
            self.under.entry(name.into()).or_insert(written);
        }
        self.entries += 1;
        Ok(())
    }

    /// The entry that matches `name` (case and one trailing dot ignored),
    /// in canonical form: the name itself, then the closest enclosing
    /// `*.`/`.` entry.
    pub fn matching(&self, name: &str) -> Option<&str> {
        if self.entries == 0 {
            return None;
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        let name: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if let Some(entry) = self.exact.get(name.as_ref()) {
            return Some(entry);
        }
        if self.under.is_empty() {
            return None;
        }
        let mut rest = name.as_ref();
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(entry) = self.under.get(parent) {
                return Some(entry);
            }
            rest = parent;
        }
        None
    }

    /// Entries read, duplicates included.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether no entry was read.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

/// The allow and deny lists a report is assembled with.
#[derive(Clone, Debug, Default)]
pub struct ReportLists {
    /// Names to hide.
    pub allow: NamePatterns,
    /// Names to show and flag.
    pub deny: NamePatterns,
}

impl ReportLists {
    /// Reads every allow and deny file; the first bad file is an error.
    pub fn from_files(allow: &[PathBuf], deny: &[PathBuf]) -> Result<Self, PatternError> {
        let mut lists = Self::default();
        for (role, files) in [(ListRole::Allow, allow), (ListRole::Deny, deny)] {
            for file in files {
                let extra = NamePatterns::from_file(role, file)?;
                match role {
                    ListRole::Allow => lists.allow.extend(extra),
                    ListRole::Deny => lists.deny.extend(extra),
                }
            }
        }
        Ok(lists)
    }

    /// Whether both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// The deny entry `name` matches, if any.
    pub fn denied(&self, name: &str) -> Option<&str> {
        self.deny.matching(name)
    }

    /// Whether `name` is hidden: on the allow list and not on the deny
    /// list.
    pub fn allowed(&self, name: &str) -> bool {
        self.allow.matching(name).is_some() && self.deny.matching(name).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(text: &str) -> NamePatterns {
        NamePatterns::parse(ListRole::Allow, text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_bare_name_matches_that_name_only() {
        let p = patterns("example.com\n");
        assert_eq!(p.matching("example.com"), Some("example.com"));
        assert_eq!(p.matching("EXAMPLE.com."), Some("example.com"));
        assert_eq!(p.matching("www.example.com"), None);
        assert_eq!(p.matching("xexample.com"), None);
        assert_eq!(p.matching("com"), None);
    }

    #[test]
    fn a_star_entry_matches_names_under_it_not_the_apex() {
        let p = patterns("*.example.com\n");
        assert_eq!(p.matching("example.com"), None);
        assert_eq!(p.matching("www.example.com"), Some("*.example.com"));
        assert_eq!(p.matching("a.b.Example.COM"), Some("*.example.com"));
        assert_eq!(p.matching("wwwexample.com"), None);
    }

    #[test]
    fn a_leading_dot_matches_the_apex_and_names_under_it() {
        let p = patterns(".example.com\n");
        assert_eq!(p.matching("example.com"), Some(".example.com"));
        assert_eq!(p.matching("a.example.com"), Some(".example.com"));
        assert_eq!(p.matching("notexample.com"), None);
    }

    #[test]
    fn the_closest_entry_is_named() {
        let p = patterns(".example.com\n*.cdn.example.com  # the CDN\nhost.cdn.example.com\n");
        assert_eq!(
            p.matching("host.cdn.example.com"),
            Some("host.cdn.example.com")
        );
        assert_eq!(p.matching("x.cdn.example.com"), Some("*.cdn.example.com"));
        assert_eq!(p.matching("cdn.example.com"), Some(".example.com"));
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let p = patterns("# header\n\n   \nexample.org # trailing\n#example.net\n");
        assert_eq!(p.len(), 1);
        assert!(p.matching("example.net").is_none());
        assert!(p.matching("example.org").is_some());
        assert!(patterns("").is_empty());
    }

    #[test]
    fn odd_lines_are_refused_with_file_and_line() {
        for (text, line, problem) in [
            ("ok.com\nfoo.*.com\n", 2, PatternProblem::Wildcard),
            ("*example.com\n", 1, PatternProblem::Wildcard),
            ("**.example.com\n", 1, PatternProblem::Wildcard),
            ("\n\n*.\n", 3, EntryProblem::NoLabels.into()),
            ("..example.com\n", 1, EntryProblem::EmptyLabel.into()),
            ("*..example.com\n", 1, EntryProblem::EmptyLabel.into()),
            ("a..b\n", 1, EntryProblem::EmptyLabel.into()),
            ("exa mple.com\n", 1, EntryProblem::BadChar(' ').into()),
            ("http://x.com\n", 1, EntryProblem::BadChar(':').into()),
        ] {
            match NamePatterns::parse(ListRole::Deny, text) {
                Err(PatternError::BadEntry {
                    line: l,
                    problem: p,
                    role: ListRole::Deny,
                    ..
                }) => {
                    assert_eq!((l, &p), (line, &problem), "{text:?}");
                }
                other => panic!("{text:?}: expected a bad entry, got {other:?}"),
            }
        }
        let dir = std::env::temp_dir().join(format!("dnsrare-allow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("allow.txt");
        std::fs::write(&file, "good.example\n\nbad..example\n").unwrap();
        let err = NamePatterns::from_file(ListRole::Allow, &file).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}:3: allow list: empty label: \"bad..example\"",
                file.display()
            )
        );
        let missing = NamePatterns::from_file(ListRole::Allow, &dir.join("none")).unwrap_err();
        assert!(matches!(missing, PatternError::Read { .. }), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn deny_wins_over_allow() {
        let lists = ReportLists {
            allow: patterns(".example.com\n"),
            deny: NamePatterns::parse(ListRole::Deny, "bad.example.com\n").unwrap(),
        };
        assert!(lists.allowed("good.example.com"));
        assert!(!lists.allowed("bad.example.com"));
        assert_eq!(lists.denied("bad.example.com"), Some("bad.example.com"));
        assert!(!lists.allowed("other.org"));
        assert!(ReportLists::default().is_empty());
    }
}
