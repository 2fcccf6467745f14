//! `berth-shim BUNDLE`: creates the container described by BUNDLE and watches it.
fn main() {
    todo!("runtime helper implements")
}
