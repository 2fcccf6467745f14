//! `berth-shim BUNDLE`: creates the container described by BUNDLE and watches it.
//! All the work is in `berth_runtime::shim`.

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(bundle), None) = (args.next(), args.next()) else {
        eprintln!("usage: berth-shim BUNDLE");
        std::process::exit(2);
    };
    std::process::exit(berth_runtime::shim::main(std::path::Path::new(&bundle)));
}
