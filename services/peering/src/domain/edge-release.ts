/**
 * Edge releases: how an edge's reported version compares with the release the
 * hub offers (the daalu-edge chart it serves) and the oldest one it still
 * supports. SemVer comparison by the `semver` package (pre-releases sort
 * before their release, build metadata is ignored).
 */
import semver from "semver";

export type EdgeSupportName = "current" | "update_available" | "unsupported";

export interface EdgeReleases {
  /** The edge release the hub offers (PEERING_EDGE_CURRENT_VERSION). */
  current: string;
  /** The oldest edge version the hub supports (PEERING_EDGE_MIN_VERSION); not newer than `current`. */
  minimum: string;
  /** The helm command that upgrades an installed edge to `current`. */
  upgradeCommand: string;
}

export interface EdgeVersionVerdict {
  /** undefined: no version reported yet, or not SemVer (a development build): no claim either way. */
  support: EdgeSupportName | undefined;
  updateAvailable: boolean;
  /** Set for an unsupported edge: what the row's diagnostic says about it. */
  diagnostic: string | undefined;
}

/** Judges the version an edge reports against the hub's releases. */
export function judgeEdgeVersion(reported: string, r: EdgeReleases): EdgeVersionVerdict {
  if (!semver.valid(reported)) return { support: undefined, updateAvailable: false, diagnostic: undefined };
  if (semver.lt(reported, r.minimum)) {
    return {
      support: "unsupported",
      updateAvailable: true,
      diagnostic: `edge ${reported} is older than the oldest supported ${r.minimum}: upgrade with ${r.upgradeCommand}`,
    };
  }
  if (semver.lt(reported, r.current)) return { support: "update_available", updateAvailable: true, diagnostic: undefined };
  return { support: "current", updateAvailable: false, diagnostic: undefined };
}

/** The row's diagnostic: the health diagnostic, then the version's when there is one. */
export function withVersionDiagnostic(health: string, v: EdgeVersionVerdict): string {
  if (!v.diagnostic) return health;
  return health ? `${health}; ${v.diagnostic}` : v.diagnostic;
}

/** Why `current`/`minimum` cannot be the hub's edge releases, or undefined when they can. */
export function edgeReleasesProblem(current: string, minimum: string): string | undefined {
  if (!semver.valid(current)) return `PEERING_EDGE_CURRENT_VERSION must be a SemVer version like 1.2.3, got "${current}"`;
  if (!semver.valid(minimum)) return `PEERING_EDGE_MIN_VERSION must be a SemVer version like 1.2.3, got "${minimum}"`;
  if (semver.gt(minimum, current)) return `PEERING_EDGE_MIN_VERSION ${minimum} is newer than PEERING_EDGE_CURRENT_VERSION ${current}`;
  return undefined;
}
