//! Writing the post and the feeds into the output folder. Every file is
//! written to a temporary file beside it and renamed into place, so readers
//! and site builders never see half a file.

pub mod feeds;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{Config, Taxonomy};
use crate::store::{Storage, StoreError};

/// Stories per tag feed.
const TAG_FEED_STORIES: usize = 50;

/// Publishing failures, with the path.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let err = |source| PublishError::Write { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub post: Option<PathBuf>,
    pub feeds: Vec<PathBuf>,
}

/// The post file's path for a date.
pub fn post_path(config: &Config, date: &str) -> PathBuf {
    config.output.dir.join("_posts").join(format!("{date}-{}.md", config.digest.slug))
}

/// Writes the post for `date` (from the database) and regenerates every feed.
pub fn publish<S: Storage>(
    config: &Config,
    taxonomy: &Taxonomy,
    store: &S,
    date: Option<&str>,
) -> Result<Published, PublishError> {
    let mut out = Published::default();
    let posts = store.recent_posts(config.digest.feed_posts.max(1))?;
    if let Some(date) = date
        && let Some(post) = posts.iter().find(|p| p.date == date)
    {
        let path = post_path(config, date);
        write_atomic(&path, post.markdown.as_bytes())?;
        remove_other_posts_of(&path, date);
        out.post = Some(path);
    }
    let dir = &config.output.dir;
    let site = &config.site;
    for (name, body) in [
        ("feed.xml", feeds::rss(site, &posts)),
        ("atom.xml", feeds::atom(site, &posts)),
        ("feed.json", feeds::json_feed(site, &posts)),
    ] {
        let path = dir.join(name);
        write_atomic(&path, body.as_bytes())?;
        out.feeds.push(path);
    }
    for tag in &taxonomy.tag {
        let stories = store.stories_with_tag(&tag.name, TAG_FEED_STORIES)?;
        if stories.is_empty() {
            continue;
        }
        let path = dir.join("tags").join(feeds::tag_file_name(&tag.name));
        write_atomic(&path, feeds::tag_feed(site, &tag.name, &stories).as_bytes())?;
        out.feeds.push(path);
    }
    Ok(out)
}

/// A post of the same date under an older slug would be a second post.
fn remove_other_posts_of(path: &Path, date: &str) {
    let Some(dir) = path.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p != path && name.starts_with(&format!("{date}-")) && name.ends_with(".md") {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/feed.xml");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
    }
}
