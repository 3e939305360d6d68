//! The registry of services: one YAML record per service in `services/<name>.yaml`, written atomically
//! (mode 0600: records may hold credentials) under the registry lock.

use serde_json::{Map, Value};

use crate::kinds::{self, check_settings};
use crate::record::check_name;
use crate::{Error, EventBus, EventKind, Home, Result, ServiceRecord};

/// A file in `services/` that is not a service record: the config crate's ipfs-cluster-ctl record.
const NOT_RECORDS: &[&str] = &["ipfs-cluster-ctl", "system"];

/// What [`Registry::list`] found: the records, and files that did not parse (reported, not hidden).
#[derive(Debug, Default)]
pub struct Listing {
    /// Records, sorted by name.
    pub records: Vec<ServiceRecord>,
    /// `(file, problem)` for each damaged record.
    pub damaged: Vec<(String, String)>,
}

/// A change to a record: kind-specific settings merged in (`null` removes a key), and top-level fields.
#[derive(Debug, Default, Clone)]
pub struct RecordUpdate {
    /// Settings to merge; `Value::Null` removes one.
    pub settings: Map<String, Value>,
    /// Other fields (`autostart`, `binary`, `args`, `env`, `cwd`, `restart`, `depends_on`, `quota_bytes`),
    /// merged into the record as JSON; the result must still be a valid record.
    pub fields: Map<String, Value>,
}

/// The registry over one home.
#[derive(Debug, Clone)]
pub struct Registry {
    home: Home,
    events: EventBus,
}

impl Registry {
    /// The registry of `home`, reporting changes on `events`.
    pub fn new(home: Home, events: EventBus) -> Registry {
        Registry { home, events }
    }

    /// Registers `rec`: name and settings checked, refused if the name exists.
    pub fn add(&self, rec: ServiceRecord) -> Result<ServiceRecord> {
        check_name(&rec.name)?;
        if NOT_RECORDS.contains(&rec.name.as_str()) {
            return Err(Error::invalid(
                "name",
                format!("{:?} is reserved", rec.name),
            ));
        }
        check_settings(&rec)?;
        self.home.ensure()?;
        let _lock = self.home.lock("registry")?;
        let path = self.home.service_file(&rec.name);
        if path.exists() {
            return Err(Error::Exists(rec.name));
        }
        for dep in &rec.depends_on {
            if !self.home.service_file(dep).exists() {
                return Err(Error::invalid(
                    "depends_on",
                    format!("no service named {dep:?}"),
                ));
            }
        }
        self.home
            .write_atomic(&path, rec.to_yaml()?.as_bytes(), true)?;
        self.events.emit(
            Some(&rec.name),
            EventKind::Added,
            format!("{} service {} added", rec.kind, rec.name),
            Value::Null,
        );
        Ok(rec)
    }

    /// The record of `name`.
    pub fn get(&self, name: &str) -> Result<ServiceRecord> {
        check_name(name)?;
        let path = self.home.service_file(name);
        match self.home.read_opt(&path)? {
            None => Err(Error::NotFound(name.to_owned())),
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| Error::Corrupt {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                let rec = ServiceRecord::from_yaml(&text, &path)?;
                if rec.name != name {
                    return Err(Error::Corrupt {
                        path,
                        message: format!("holds the record of {:?}", rec.name),
                    });
                }
                Ok(rec)
            }
        }
    }

    /// Every record (sorted by name), and the files that are damaged.
    pub fn list(&self) -> Result<Listing> {
        let dir = self.home.services_dir();
        let mut out = Listing::default();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io("read directory", &dir, e)),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".yaml")
                    .map(str::to_owned)
            })
            .filter(|n| !NOT_RECORDS.contains(&n.as_str()))
            .collect();
        names.sort();
        for n in names.into_iter().take(10_000) {
            match self.get(&n) {
                Ok(r) => out.records.push(r),
                Err(e) => out.damaged.push((format!("{n}.yaml"), e.to_string())),
            }
        }
        Ok(out)
    }

    /// Applies `update` to the record of `name`; nothing is written when the result is invalid.
    pub fn update(&self, name: &str, update: &RecordUpdate) -> Result<ServiceRecord> {
        let _lock = self.home.lock("registry")?;
        let old = self.get(name)?;
        let mut doc =
            serde_json::to_value(&old).map_err(|e| Error::invalid("record", e.to_string()))?;
        let obj = doc
            .as_object_mut()
            .ok_or_else(|| Error::invalid("record", "not an object"))?;
        for (k, v) in &update.fields {
            if matches!(k.as_str(), "name" | "kind" | "settings" | "created_ms") {
                return Err(Error::invalid(
                    k.clone(),
                    "cannot be changed (remove and add the service instead)",
                ));
            }
            match (obj.get_mut(k), v) {
                (Some(Value::Object(cur)), Value::Object(patch)) => {
                    for (pk, pv) in patch {
                        cur.insert(pk.clone(), pv.clone());
                    }
                }
                (_, Value::Null) => {
                    obj.remove(k);
                }
                _ => {
                    obj.insert(k.clone(), v.clone());
                }
            }
        }
        let mut new: ServiceRecord =
            serde_json::from_value(doc).map_err(|e| Error::invalid("update", e.to_string()))?;
        for (k, v) in &update.settings {
            if v.is_null() {
                new.settings.remove(k);
            } else if v.as_str() == Some(ipfs_kit_config::REDACTED) {
                // a redacted value sent back means "keep"
            } else {
                new.settings.insert(k.clone(), v.clone());
            }
        }
        check_settings(&new)?;
        if new == old {
            return Ok(new);
        }
        self.home.write_atomic(
            &self.home.service_file(name),
            new.to_yaml()?.as_bytes(),
            true,
        )?;
        self.events.emit(
            Some(name),
            EventKind::ConfigChanged,
            format!("service {name} changed"),
            Value::Null,
        );
        Ok(new)
    }

    /// Removes the record of `name` (the caller stops a running daemon first).
    pub fn remove(&self, name: &str) -> Result<ServiceRecord> {
        let _lock = self.home.lock("registry")?;
        let rec = self.get(name)?;
        if let Some(other) = self
            .list()?
            .records
            .iter()
            .find(|r| r.depends_on.iter().any(|d| d == name))
        {
            return Err(Error::invalid(
                "remove",
                format!(
                    "{} depends on {name}; remove or change it first",
                    other.name
                ),
            ));
        }
        let path = self.home.service_file(name);
        std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        self.events.emit(
            Some(name),
            EventKind::Removed,
            format!("service {name} removed"),
            Value::Null,
        );
        Ok(rec)
    }

    /// `rec` with its secrets redacted, as every view shows it.
    pub fn redacted(rec: &ServiceRecord) -> ServiceRecord {
        kinds::redact(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceKind;

    fn reg() -> (tempfile::TempDir, Registry) {
        let d = tempfile::tempdir().unwrap();
        let r = Registry::new(Home::new(d.path().join("kit")), EventBus::new(16));
        (d, r)
    }

    #[test]
    fn add_get_update_remove() {
        let (_d, r) = reg();
        let mut s3 = ServiceRecord::new("backup", ServiceKind::S3);
        s3.settings.insert("bucket".into(), "b1".into());
        s3.settings
            .insert("secret_access_key".into(), "SECRET".into());
        r.add(s3.clone()).unwrap();
        assert!(matches!(r.add(s3.clone()), Err(Error::Exists(_))));
        let path = r.home.service_file("backup");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(r.get("backup").unwrap(), s3);
        let red = Registry::redacted(&s3);
        assert_eq!(red.settings["secret_access_key"], ipfs_kit_config::REDACTED);
        // redacted value sent back keeps the secret; unknown setting refused and nothing written
        let before = std::fs::read(&path).unwrap();
        let mut u = RecordUpdate::default();
        u.settings.insert("bogus".into(), 1.into());
        assert!(r.update("backup", &u).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let mut u = RecordUpdate::default();
        u.settings
            .insert("secret_access_key".into(), ipfs_kit_config::REDACTED.into());
        u.settings.insert("region".into(), "eu-west-1".into());
        u.fields.insert("quota_bytes".into(), 1000.into());
        let n = r.update("backup", &u).unwrap();
        assert_eq!(n.setting("secret_access_key"), Some("SECRET"));
        assert_eq!(n.setting("region"), Some("eu-west-1"));
        assert_eq!(n.quota_bytes, Some(1000));
        let mut u = RecordUpdate::default();
        u.fields.insert("kind".into(), "ftp".into());
        assert!(r.update("backup", &u).is_err());
        assert_eq!(r.list().unwrap().records.len(), 1);
        r.remove("backup").unwrap();
        assert!(matches!(r.get("backup"), Err(Error::NotFound(_))));
    }

    #[test]
    fn bad_records_are_refused() {
        let (_d, r) = reg();
        // storage kind without its required setting
        assert!(r.add(ServiceRecord::new("x", ServiceKind::S3)).is_err());
        // a process for a storage kind
        let mut g = ServiceRecord::new("g", ServiceKind::Github);
        g.settings.insert("repo".into(), "a/b".into());
        g.binary = Some("/bin/true".into());
        assert!(r.add(g).is_err());
        assert!(matches!(
            r.add(ServiceRecord::new("../x", ServiceKind::Ipfs)),
            Err(Error::BadName(_))
        ));
        let mut dep = ServiceRecord::new("c", ServiceKind::IpfsClusterService);
        dep.depends_on = vec!["nope".into()];
        assert!(r.add(dep).is_err());
        assert!(r.list().unwrap().records.is_empty());
    }

    #[test]
    fn damaged_files_are_listed_not_hidden() {
        let (_d, r) = reg();
        r.add(ServiceRecord::new("ipfs", ServiceKind::Ipfs))
            .unwrap();
        std::fs::write(r.home.service_file("broken"), "name: [").unwrap();
        std::fs::write(r.home.service_file("ipfs-cluster-ctl"), "{}").unwrap();
        let l = r.list().unwrap();
        assert_eq!(l.records.len(), 1);
        assert_eq!(l.damaged.len(), 1);
        assert_eq!(l.damaged[0].0, "broken.yaml");
    }
}
