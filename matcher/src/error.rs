//! Why a signature source was refused.

use std::fmt;

/// A signature source that cannot be loaded: the file, the signature (when the problem is in
/// one) and what is wrong, so that whoever wrote it can fix it.
#[derive(Debug)]
pub struct LoadError {
    /// The source file, as named to the loader.
    pub file: String,
    /// The signature id, when the problem is inside one signature.
    pub id: Option<String>,
    /// What is wrong.
    pub kind: LoadErrorKind,
}

/// What is wrong with a signature source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The file is not valid TOML or does not follow the signature schema.
    #[error("not a signature file: {0}")]
    Syntax(String),
    /// Two signatures share an id.
    #[error("duplicate id, first defined in {first_file}")]
    DuplicateId {
        /// Where the id was first seen.
        first_file: String,
    },
    /// A required text attribute is empty or malformed.
    #[error("`{attribute}` {problem}")]
    Attribute {
        /// The attribute (`id`, `service`, `probe`...).
        attribute: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The confirming regex does not compile.
    #[error("bad regex: {0}")]
    Regex(String),
    /// A template refers to a capture group the regex does not have, or needs a regex.
    #[error("template `{template}`: {problem}")]
    Template {
        /// The template as written.
        template: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Neither a regex nor an anchor: the signature would match everything.
    #[error("needs a regex or at least one anchor")]
    Unconstrained,
    /// Every signature must carry at least one example that it matches.
    #[error("has no example")]
    NoExample,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => {
                write!(f, "{}: signature `{}`: {}", self.file, id.escape_debug(), self.kind)
            }
            None => write!(f, "{}: {}", self.file, self.kind),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}
