//! The bindings only convert and forward: `src/python/` stays under a tenth of the crate's Rust lines
//! (issue #11). Reads the source tree, so engine logic that creeps into the bindings fails here.

use std::path::Path;

fn lines(dir: &Path) -> usize {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("readable source tree") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            total += lines(&path);
        } else if path.extension().is_some_and(|e| e == "rs") {
            total += std::fs::read_to_string(&path).expect("utf-8 source").lines().count();
        }
    }
    total
}

#[test]
fn bindings_are_under_a_tenth_of_the_rust_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (bindings, all) = (lines(&src.join("python")), lines(&src));
    assert!(
        bindings > 0 && all > bindings,
        "no bindings found under {}",
        src.display()
    );
    let share = bindings as f64 / all as f64;
    assert!(
        share < 0.10,
        "core/src/python/ holds {bindings} of {all} Rust lines ({:.1}%): move logic into the core",
        share * 100.0
    );
}
