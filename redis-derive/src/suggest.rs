//! Wording shared by error messages: typo suggestions and lists of names.

/// The candidate closest to `name` by edit distance, if it is close enough to
/// be a typo of it.
pub(crate) fn closest<'n>(name: &str, candidates: &'n [String]) -> Option<&'n str> {
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// "`a`, `b`".
pub(crate) fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "`a`, `b` or `c`".
pub(crate) fn one_of(names: &[String]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => format!("`{last}`"),
        Some((last, rest)) => format!("{} or `{last}`", list(rest)),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = vec!["id".to_owned(), "tenant".to_owned(), "email".to_owned()];
        assert_eq!(closest("idd", &names), Some("id"));
        assert_eq!(closest("tennant", &names), Some("tenant"));
        assert_eq!(closest("zzzzzz", &names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn lists_names() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(one_of(&names(&["a"])), "`a`");
        assert_eq!(one_of(&names(&["a", "b", "c"])), "`a`, `b` or `c`");
        assert_eq!(list(&names(&["a", "b"])), "`a`, `b`");
    }
}
