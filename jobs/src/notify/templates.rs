//! E-mail templates: loaded from a folder once, checked at start-up, rendered with
//! [minijinja](https://docs.rs/minijinja) (no code execution, no file access).
//!
//! A template named `welcome` is up to three files in the folder:
//!
//! | file | required | rendered as |
//! |---|---|---|
//! | `welcome.subject.txt` | yes | the `Subject` (one line; line breaks become spaces) |
//! | `welcome.txt` | yes | the plain-text body |
//! | `welcome.html` | no | the HTML body (variables are HTML-escaped) |
//!
//! [`Templates::load`] fails on a missing or empty folder, a template that does not
//! parse, a subject without a text body (or the reverse) and any other file, so a bad
//! template stops the worker before any job runs. Rendering is strict: a variable the
//! template prints and the job does not give is the job's `VALIDATION_ERROR` (an
//! `{% if var %}` test of a missing variable is simply false).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};

use crate::error::JobError;

/// Why a template folder cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The folder or a file in it cannot be read.
    #[error("cannot read e-mail templates at {path}: {source}")]
    Read {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds no template.
    #[error("no e-mail templates in {0} (expected NAME.subject.txt and NAME.txt files)")]
    Empty(PathBuf),
    /// A file does not parse, or does not belong.
    #[error("invalid e-mail template {file}: {message}")]
    Invalid {
        /// The file name.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// A message rendered from a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, when the template has one.
    pub html: Option<String>,
}

/// A checked set of templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    names: BTreeSet<String>,
}

impl Templates {
    /// Loads and checks every template in `dir` (see the module table).
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        let read_err = |path: &Path, source| TemplateError::Read {
            path: path.to_owned(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| read_err(dir, e))? {
            let path = entry.map_err(|e| read_err(dir, e))?.path();
            if path.is_dir() {
                continue;
            }
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| invalid(&path.display().to_string(), "not a UTF-8 file name"))?
                .to_owned();
            let source = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
            files.push((name, source));
        }
        if files.is_empty() {
            return Err(TemplateError::Empty(dir.to_owned()));
        }
        Self::from_files(files)
    }

    /// Checks templates given as `(file name, source)` pairs, as [`Templates::load`] does.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let (mut subjects, mut texts) = (BTreeSet::new(), BTreeSet::new());
        for (file, source) in files {
            if let Some(name) = file.strip_suffix(".subject.txt") {
                subjects.insert(name.to_owned());
            } else if let Some(name) = file.strip_suffix(".txt") {
                texts.insert(name.to_owned());
            } else if file.strip_suffix(".html").is_none() {
                return Err(invalid(&file, "not a .subject.txt, .txt or .html file"));
            }
            env.add_template_owned(file.clone(), source)
                .map_err(|e| invalid(&file, &e.to_string()))?;
        }
        if let Some(name) = subjects.symmetric_difference(&texts).next() {
            return Err(invalid(name, "needs both NAME.subject.txt and NAME.txt"));
        }
        for file in env
            .templates()
            .map(|(f, _)| f.to_owned())
            .collect::<Vec<_>>()
        {
            if let Some(name) = file.strip_suffix(".html")
                && !texts.contains(name)
            {
                return Err(invalid(
                    &file,
                    "an HTML body needs NAME.subject.txt and NAME.txt",
                ));
            }
        }
        if texts.is_empty() {
            return Err(TemplateError::Empty(PathBuf::from("(given files)")));
        }
        Ok(Self { env, names: texts })
    }

    /// The template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Renders template `name` with `vars` (a JSON object). An unknown template or a
    /// missing variable is a `VALIDATION_ERROR`.
    pub fn render(&self, name: &str, vars: &serde_json::Value) -> Result<Rendered, JobError> {
        if !self.names.contains(name) {
            return Err(JobError::validation("template", "no such e-mail template"));
        }
        let render = |file: String| -> Result<String, JobError> {
            let template = self
                .env
                .get_template(&file)
                .map_err(|e| JobError::validation("template", e.to_string()))?;
            template
                .render(minijinja::value::Serde(vars))
                .map_err(|e| JobError::validation("vars", e.to_string()))
        };
        let subject = render(format!("{name}.subject.txt"))?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = render(format!("{name}.txt"))?;
        let html_file = format!("{name}.html");
        let html = match self.env.get_template(&html_file) {
            Ok(_) => Some(render(html_file)?),
            Err(_) => None,
        };
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

fn invalid(file: &str, message: &str) -> TemplateError {
    TemplateError::Invalid {
        file: file.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, s)| ((*f).to_owned(), (*s).to_owned()))
            .collect()
    }

    fn welcome() -> Templates {
        Templates::from_files(files(&[
            ("welcome.subject.txt", "Welcome,\n{{ name }}"),
            (
                "welcome.txt",
                "Hello {{ name }}{% if vip %} (VIP){% endif %}",
            ),
            ("welcome.html", "<p>Hello {{ name }}</p>"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn renders_subject_text_and_escaped_html() {
        let rendered = welcome().render("welcome", &json!({ "name": "<Ann>" }));
        let rendered = rendered.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rendered.subject, "Welcome, <Ann>");
        assert_eq!(rendered.text, "Hello <Ann>");
        assert_eq!(rendered.html.as_deref(), Some("<p>Hello &lt;Ann&gt;</p>"));
        let vip = welcome().render("welcome", &json!({ "name": "Bo", "vip": true }));
        assert_eq!(vip.map(|r| r.text).ok().as_deref(), Some("Hello Bo (VIP)"));
    }

    #[test]
    fn unknown_templates_and_missing_variables_are_validation_errors() {
        let templates = welcome();
        let unknown = templates.render("nope", &json!({})).err().map(|e| e.code());
        assert_eq!(unknown, Some(ErrorCode::Validation));
        let missing = templates
            .render("welcome", &json!({}))
            .err()
            .map(|e| e.code());
        assert_eq!(missing, Some(ErrorCode::Validation));
    }

    #[test]
    fn bad_folders_fail_to_load() {
        let cases: [&[(&str, &str)]; 4] = [
            &[("a.subject.txt", "x"), ("a.txt", "{{ broken")],
            &[("a.subject.txt", "x")],
            &[("a.subject.txt", "x"), ("a.txt", "y"), ("notes.md", "z")],
            &[("a.subject.txt", "x"), ("a.txt", "y"), ("b.html", "z")],
        ];
        for case in cases {
            assert!(Templates::from_files(files(case)).is_err(), "{case:?}");
        }
        let missing = Templates::load(Path::new("/nonexistent/herald/templates"));
        assert!(matches!(missing, Err(TemplateError::Read { .. })));
    }

    #[test]
    fn the_shipped_templates_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/email");
        let templates = Templates::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(templates.names().count() >= 1);
    }
}
