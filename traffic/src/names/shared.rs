//! The shared-data name source: the labelled lists in
//! `../shared/data/names`, read in place (never copied into the
//! repository). Popular names come from `benign_alexa_top10k.csv`, CDN
//! names from `benign_cdn_cloud_autogen_sample.txt`, DGA bursts and
//! random-looking C2 names from `dga_netlab360_2017-07_sample.tsv` (one
//! family per burst, beacon names from the families no burst uses) and the
//! tunnel from `tunnel_iodine_sample.csv` (its names verbatim, under the
//! domain most of them share). Dynamic-DNS and IP-lookup names, which no
//! list holds, come from the built-in source.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use rand::{RngExt, seq::SliceRandom};

use super::{Builtin, DgaFamily, NameRng, NameSource, TunnelNames};

/// File of popular domains (`rank,domain` after a header).
pub const POPULAR_FILE: &str = "benign_alexa_top10k.csv";
/// File of CDN and cloud host names (one per line).
pub const CDN_FILE: &str = "benign_cdn_cloud_autogen_sample.txt";
/// File of DGA names (`family\tdomain\t…` after a header).
pub const DGA_FILE: &str = "dga_netlab360_2017-07_sample.tsv";
/// File of tunnel query names (`label,tool,qname` after a header).
pub const TUNNEL_FILE: &str = "tunnel_iodine_sample.csv";

/// The labelled lists of the shared data, loaded once.
#[derive(Clone, Debug)]
pub struct SharedNames {
    dir: PathBuf,
    popular: Vec<String>,
    cdn: Vec<String>,
    dga: Vec<DgaFamily>,
    tunnel: TunnelNames,
}

impl SharedNames {
    /// Reads the four lists from `dir` (the `names` directory of the shared
    /// data).
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |file: &str| -> Result<String> {
            let path = dir.join(file);
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
        };
        let popular: Vec<String> = read(POPULAR_FILE)?
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').nth(1))
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        let cdn: Vec<String> = read(CDN_FILE)?
            .lines()
            .map(|l| l.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let mut dga: Vec<DgaFamily> = Vec::new();
        for line in read(DGA_FILE)?.lines().skip(1) {
            let mut fields = line.split('\t');
            let (Some(family), Some(name)) = (fields.next(), fields.next()) else {
                continue;
            };
            let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
            match dga.iter_mut().find(|f| f.family == family) {
                Some(f) => f.names.push(name),
                None => dga.push(DgaFamily {
                    family: family.to_owned(),
                    names: vec![name],
                }),
            }
        }
        let qnames: Vec<String> = read(TUNNEL_FILE)?
            .lines()
            .skip(1)
            .filter_map(|l| l.trim_end_matches('\r').splitn(3, ',').nth(2))
            .map(str::to_owned)
            .filter(|q| !q.is_empty())
            .collect();
        // The tunnel is the domain most names share; the odd rows out are
        // left aside.
        let mut domains: HashMap<String, usize> = HashMap::new();
        for q in &qnames {
            *domains.entry(registered_suffix(q)).or_default() += 1;
        }
        let Some(domain) = domains
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(d, _)| d)
        else {
            bail!("{} holds no names", dir.join(TUNNEL_FILE).display());
        };
        let names = qnames
            .into_iter()
            .filter(|q| registered_suffix(q) == domain)
            .collect();
        if popular.len() < 100 || cdn.is_empty() || dga.is_empty() {
            bail!("{} holds too few names", dir.display());
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            popular,
            cdn,
            dga,
            tunnel: TunnelNames {
                domain: domain.to_ascii_lowercase(),
                names,
            },
        })
    }

    /// The directory the lists were read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The last two non-empty labels of a dotted name.
fn registered_suffix(name: &str) -> String {
    let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
    labels[labels.len().saturating_sub(2)..].join(".")
}

impl NameSource for SharedNames {
    fn id(&self) -> &'static str {
        "shared"
    }

    fn popular_domains(&self, _rng: &mut NameRng) -> Vec<String> {
        self.popular.clone()
    }

    fn cdn_names(&self, rng: &mut NameRng, n: usize) -> Vec<String> {
        let mut names = self.cdn.clone();
        names.shuffle(rng);
        names.truncate(n);
        names
    }

    /// One family per burst, in file order; a burst asks the family's
    /// names in a random order (`size` of them at most).
    fn dga_bursts(&self, rng: &mut NameRng, bursts: usize, size: usize) -> Vec<DgaFamily> {
        (0..bursts)
            .map(|i| {
                let mut f = self.dga[i % self.dga.len()].clone();
                f.names.shuffle(rng);
                f.names.truncate(size);
                f
            })
            .collect()
    }

    /// One name from each family, starting from the last (the bursts take
    /// the first ones).
    fn c2_names(&self, rng: &mut NameRng, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let f = &self.dga[self.dga.len() - 1 - i % self.dga.len()];
                let at = rng.random_range(0..f.names.len());
                f.names[at].clone()
            })
            .collect()
    }

    /// The iodine names for the first tunnel (each asked once, so a tunnel
    /// has as many queries as the list has names); later tunnels are
    /// built in.
    fn tunnel(&self, rng: &mut NameRng, index: usize, queries: usize) -> TunnelNames {
        if index == 0 {
            let mut t = self.tunnel.clone();
            t.names.truncate(queries);
            t
        } else {
            Builtin.tunnel(rng, index, queries)
        }
    }
}
