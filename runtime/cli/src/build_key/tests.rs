use std::fs;

use super::*;

/// A model folder: settings (the component built into `out/`), a source,
/// a fixture, and a shared folder outside it named in `build_inputs`.
struct Project {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("model/fixtures")).expect("mkdir");
        fs::create_dir_all(root.join("sdk")).expect("mkdir");
        fs::create_dir_all(root.join("out")).expect("mkdir");
        fs::write(
            root.join("model/mlops_settings.yaml"),
            "model_name: m\nmodel_file: ../out/m.wasm\nbuild: ./build.sh\nbuild_inputs: [../sdk]\n\
             ---\nmodel_name: n\nmodel_file: n.wasm\nbuild: ./build.sh\n",
        )
        .expect("write");
        fs::write(root.join("model/app.py"), "def predict(x): return x\n").expect("write");
        fs::write(root.join("model/fixtures/a.request.json"), "{}").expect("write");
        fs::write(root.join("sdk/lib.py"), "VERSION = 1\n").expect("write");
        Project { dir, cache: tempfile::tempdir().expect("tempdir") }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn key(&self, model: &str) -> BuildKey {
        let settings = Settings::load(&self.path("model/mlops_settings.yaml")).expect("settings");
        let m = settings.model(model).expect("model");
        BuildKey::new(self.cache.path(), &settings, m, "./build.sh").expect("key")
    }

    /// What a build does: writes the components.
    fn build(&self, bytes: &str) {
        fs::write(self.path("out/m.wasm"), bytes).expect("write");
        fs::write(self.path("model/n.wasm"), bytes).expect("write");
    }
}

#[test]
fn the_key_is_stable_and_ignores_outputs_and_tool_folders() {
    let p = Project::new();
    let before = p.key("m").compute().expect("key");
    assert_eq!(before, p.key("m").compute().expect("key"));
    // Components (this model's and the other's), caches and dependencies
    // folders are not sources.
    p.build("first");
    fs::create_dir_all(p.path("model/__pycache__")).expect("mkdir");
    fs::write(p.path("model/__pycache__/app.pyc"), "x").expect("write");
    fs::create_dir_all(p.path("sdk/node_modules/dep")).expect("mkdir");
    fs::write(p.path("sdk/node_modules/dep/index.js"), "x").expect("write");
    assert_eq!(before, p.key("m").compute().expect("key"));
    // Each model has its own key.
    assert_ne!(before, p.key("n").compute().expect("key"));
}

#[test]
fn any_change_to_a_source_the_settings_or_a_build_input_changes_the_key() {
    let p = Project::new();
    let base = p.key("m").compute().expect("key");
    let changes: [(&str, &dyn Fn()); 7] = [
        ("a byte of a source", &|| {
            fs::write(p.path("model/app.py"), "def predict(x): return 2*x\n").expect("write")
        }),
        ("a new file", &|| fs::write(p.path("model/extra.py"), "").expect("write")),
        ("a fixture", &|| {
            fs::write(p.path("model/fixtures/a.request.json"), "{\"data\": 1}").expect("write")
        }),
        ("a build input", &|| fs::write(p.path("sdk/lib.py"), "VERSION = 2\n").expect("write")),
        ("a file in a build input's new folder", &|| {
            fs::create_dir_all(p.path("sdk/sub")).expect("mkdir");
            fs::write(p.path("sdk/sub/x.py"), "").expect("write")
        }),
        ("the settings", &|| {
            let s = fs::read_to_string(p.path("model/mlops_settings.yaml")).expect("read");
            fs::write(p.path("model/mlops_settings.yaml"), format!("{s}\n# a comment\n"))
                .expect("write")
        }),
        ("a rename", &|| {
            fs::rename(p.path("model/app.py"), p.path("model/main.py")).expect("rename")
        }),
    ];
    let mut seen = vec![base];
    for (what, change) in changes {
        change();
        let key = p.key("m").compute().expect("key");
        assert!(!seen.contains(&key), "{what} did not change the key");
        seen.push(key);
    }
    // A removed file too.
    fs::remove_file(p.path("model/extra.py")).expect("rm");
    assert!(!seen.contains(&p.key("m").compute().expect("key")), "a removed file");
}

#[test]
fn a_recorded_build_holds_while_its_component_is_the_one_it_wrote() {
    let p = Project::new();
    let key = p.key("m");
    assert_eq!(key.recorded(), None, "never built");
    p.build("first");
    key.record().expect("record");
    assert_eq!(key.recorded(), Some(key.compute().expect("key")));
    // Another model of the same settings has its own record.
    assert_eq!(p.key("n").recorded(), None);
    // The component overwritten (by hand, by another tool): no record.
    fs::write(p.path("out/m.wasm"), "other").expect("write");
    assert_eq!(key.recorded(), None);
    fs::remove_file(p.path("out/m.wasm")).expect("rm");
    assert_eq!(key.recorded(), None);
    // A damaged record is no record.
    p.build("first");
    key.record().expect("record");
    let stamp = fs::read_dir(p.cache.path().join("builds")).expect("builds").next().expect("one");
    fs::write(stamp.expect("entry").path(), "{not json").expect("write");
    assert_eq!(key.recorded(), None);
}

#[test]
fn a_missing_build_input_is_an_error_naming_it() {
    let p = Project::new();
    let settings = Settings::load(&p.path("model/mlops_settings.yaml")).expect("settings");
    fs::remove_dir_all(p.path("sdk")).expect("rm");
    let m = settings.model("m").expect("model");
    let err = BuildKey::new(p.cache.path(), &settings, m, "./build.sh").err().expect("missing");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}
