//! MLflow's GraphQL batching limits (`graphql_no_batching.py`): at most
//! `MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS` root fields and `MLFLOW_SERVER_GRAPHQL_MAX_ALIASES` aliases on
//! any one level (default 10 each), depth 10 and 1000 selections, checked before anything runs.

use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

const MAX_DEPTH: usize = 10;
const MAX_SELECTIONS: usize = 1000;

fn env_limit(name: &str) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(10)
}

/// The fields of one level, with inline fragments and fragment spreads merged in, and its alias count.
fn level<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    visited: &mut HashSet<String>,
) -> (Vec<&'a SelectionSet>, usize, usize) {
    let mut children = Vec::new();
    let (mut fields, mut aliases) = (0, 0);
    let mut todo: Vec<&Selection> = set.items.iter().map(|s| &s.node).collect();
    while let Some(sel) = todo.pop() {
        match sel {
            Selection::Field(f) => {
                fields += 1;
                if f.node.alias.is_some() {
                    aliases += 1;
                }
                if !f.node.selection_set.node.items.is_empty() {
                    children.push(&f.node.selection_set.node);
                }
            }
            Selection::InlineFragment(i) => {
                todo.extend(i.node.selection_set.node.items.iter().map(|s| &s.node))
            }
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.to_string();
                if visited.insert(name.clone()) {
                    if let Some(frag) = doc.fragments.get(s.node.fragment_name.node.as_str()) {
                        todo.extend(frag.node.selection_set.node.items.iter().map(|s| &s.node));
                    }
                }
            }
        }
    }
    (children, fields, aliases)
}

/// `None` when the query is within the limits, else MLflow's message.
pub fn check(query: &str) -> Option<String> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let (max_roots, max_aliases) = (
        env_limit("MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS"),
        env_limit("MLFLOW_SERVER_GRAPHQL_MAX_ALIASES"),
    );
    let (mut roots, mut most_aliases, mut selections) = (0, 0, 0);
    for (_, op) in doc.operations.iter() {
        let mut stack = vec![(&op.node.selection_set.node, 1usize)];
        let mut visited = HashSet::new();
        while let Some((set, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Some(format!("Query exceeds maximum depth of {MAX_DEPTH}"));
            }
            let (children, fields, aliases) = level(set, &doc, &mut visited);
            if depth == 1 {
                roots += fields;
            }
            selections += fields;
            if selections > MAX_SELECTIONS {
                return Some(format!(
                    "Query exceeds maximum total selections of {MAX_SELECTIONS}"
                ));
            }
            most_aliases = most_aliases.max(aliases);
            stack.extend(children.into_iter().map(|c| (c, depth + 1)));
        }
    }
    let (what, var, limit, got) = if roots > max_roots {
        (
            "root fields",
            "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS",
            max_roots,
            roots,
        )
    } else if most_aliases > max_aliases {
        (
            "aliases",
            "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES",
            max_aliases,
            most_aliases,
        )
    } else {
        return None;
    };
    Some(format!(
        "GraphQL queries should have at most {limit} {what}, got {got} {what}. \
         To increase the limit, set the {var} environment variable."
    ))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn limits() {
        let q = |n: usize| {
            format!(
                "query q {{ {} }}",
                (0..n)
                    .map(|i| format!("k{i}: test(inputString: \"a\") {{ output }}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        assert_eq!(check(&q(10)), None);
        assert!(check(&q(12))
            .unwrap()
            .contains("at most 10 root fields, got 12"));
        let aliases = format!(
            "query q {{ mlflowGetExperiment(input: {{experimentId: \"1\"}}) {{ {} }} }}",
            (0..12)
                .map(|i| format!("e{i}: experiment {{ name }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(check(&aliases).unwrap().contains("at most 10 aliases"));
    }
}
