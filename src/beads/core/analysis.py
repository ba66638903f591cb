"""Graph algorithms for ``bd graph`` and ``bd triage``: pure Python over plain IDs and edges.

Nothing here reads storage; ``beads.core.insight`` loads the graph and calls these. Every
function is deterministic: inputs are walked in sorted order and floats are rounded, so the
same workspace always gives the same numbers and the same ranking.

Vocabulary (docs/GRAPH.md):

* an edge ``(a, b, type)`` means *a depends on b* (the JSONL/SQLite direction);
* *blocking* edges are ``blocks``, ``conditional-blocks`` and ``waits-for``: b blocks a;
* ``parent-child`` edges ``(child, parent)`` propagate blockedness from a parent to its
  children (spec §4), so anything downstream of a blocked parent includes its children, but
  an open parent does not block its own children.
"""

from __future__ import annotations

BLOCKING_TYPES = frozenset(("blocks", "conditional-blocks", "waits-for"))
PARENT_CHILD = "parent-child"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    Edge = tuple[str, str, str]


class Downstream:
    """Who waits on whom, among the given (active) issues.

    ``blocked_by_me[x]`` are the issues with a blocking edge to x; ``children[x]`` the
    parent-child children of x. ``reach`` is a bitset per issue (bit i = ``ids[i]``) of
    everything transitively downstream of it *as a blocked issue*, i.e. through both
    blocking dependents and children.
    """

    def __init__(self, ids: Iterable[str], edges: Iterable[Edge]) -> None:
        self.ids = sorted(set(ids))
        self.index = {issue_id: n for n, issue_id in enumerate(self.ids)}
        self.blocked_by_me: dict[str, list[str]] = {i: [] for i in self.ids}
        self.blockers: dict[str, list[str]] = {i: [] for i in self.ids}
        self.children: dict[str, list[str]] = {i: [] for i in self.ids}
        for a, b, dep_type in sorted(set(edges)):
            if a == b or a not in self.index or b not in self.index:
                continue
            if dep_type in BLOCKING_TYPES:
                self.blocked_by_me[b].append(a)
                self.blockers[a].append(b)
            elif dep_type == PARENT_CHILD:
                self.children[b].append(a)
        self.successors = {i: sorted(set(self.blocked_by_me[i]) | set(self.children[i])) for i in self.ids}
        self.components = strongly_connected(self.ids, self.successors)
        self.reach = self._reach()
        self.depth = self._depth()

    def _reach(self) -> dict[str, int]:
        """Bitset of all issues downstream of each issue (through dependents and children).

        Strongly connected groups are handled as one: ``components`` comes in reverse
        topological order (a group after everything it reaches), so one pass suffices.
        """
        index, succ = self.index, self.successors
        reach: dict[str, int] = {}
        for group in self.components:
            members = 0
            for node in group:
                members |= 1 << index[node]
            bits = members if len(group) > 1 else 0
            for node in group:
                for nxt in succ[node]:
                    if nxt not in reach:  # inside this group
                        continue
                    bits |= (1 << index[nxt]) | reach[nxt]
            for node in group:
                reach[node] = bits
        return reach

    def _depth(self) -> dict[str, int]:
        """Length in edges of the longest chain downstream of each issue (a cycle counts once)."""
        depth: dict[str, int] = {}
        for group in self.components:
            best = 0
            for node in group:
                for nxt in self.successors[node]:
                    if nxt in depth:
                        best = max(best, depth[nxt] + 1)
            for node in group:
                depth[node] = best + (len(group) - 1 if len(group) > 1 else 0)
        return depth

    def unblock_set(self, issue_id: str) -> int:
        """Bitset of the issues that wait on ``issue_id``: its blocking dependents and everything
        downstream of them. Its own children are not included (an open parent blocks no child)."""
        bits = 0
        index = self.index
        for dependent in self.blocked_by_me[issue_id]:
            bits |= (1 << index[dependent]) | self.reach[dependent]
        return bits & ~(1 << index[issue_id])

    def unblocks(self, issue_id: str) -> int:
        return self.unblock_set(issue_id).bit_count()

    def chain_depth(self, issue_id: str) -> int:
        """The longest chain of issues that wait on ``issue_id``, counted in issues."""
        return max((self.depth[d] + 1 for d in self.blocked_by_me[issue_id]), default=0)

    def unblocks_now(self, issue_id: str) -> list[str]:
        """Dependents whose only open blocker is ``issue_id``: ready as soon as it closes
        (unless blocked through a parent)."""
        return [d for d in self.blocked_by_me[issue_id] if set(self.blockers[d]) == {issue_id}]

    def members(self, bits: int) -> list[str]:
        ids = self.ids
        out = []
        while bits:
            low = bits & -bits
            out.append(ids[low.bit_length() - 1])
            bits ^= low
        return out


def strongly_connected(nodes: list[str], successors: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; groups in reverse topological order, members sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = successors.get(node, [])
            pushed = False
            while i < len(succ):
                nxt = succ[i]
                i += 1
                if nxt not in index:
                    work.append((node, i))
                    work.append((nxt, 0))
                    pushed = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if pushed:
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def pagerank(nodes: list[str], links: Iterable[tuple[str, str]], *, damping: float = 0.85,
             iterations: int = 100, tolerance: float = 1e-12) -> dict[str, float]:
    """PageRank by power iteration; a link ``(a, b)`` passes a's importance to b.

    Dangling nodes spread their rank evenly (the standard fix), so ranks sum to 1.
    Results are rounded to 6 decimals, which keeps them identical across platforms.
    """
    n = len(nodes)
    if n == 0:
        return {}
    pos = {node: k for k, node in enumerate(nodes)}
    out: list[list[int]] = [[] for _ in range(n)]
    for a, b in sorted(set(links)):
        if a in pos and b in pos and a != b:
            out[pos[a]].append(pos[b])
    rank = [1.0 / n] * n
    base = (1.0 - damping) / n
    for _ in range(iterations):
        dangling = sum(rank[k] for k in range(n) if not out[k])
        nxt = [base + damping * dangling / n] * n
        for k in range(n):
            targets = out[k]
            if targets:
                share = damping * rank[k] / len(targets)
                for t in targets:
                    nxt[t] += share
        delta = sum(abs(x - y) for x, y in zip(nxt, rank, strict=True))
        rank = nxt
        if delta < tolerance:
            break
    return {node: round(rank[pos[node]], 6) for node in nodes}


def importance_links(edges: Iterable[Edge]) -> list[tuple[str, str]]:
    """Links for ``pagerank``: a dependent passes importance to its blocker, a parent to its children."""
    links = []
    for a, b, dep_type in edges:
        if dep_type in BLOCKING_TYPES:
            links.append((a, b))
        elif dep_type == PARENT_CHILD:
            links.append((b, a))
    return links


def layers(ids: list[str], depends_on: dict[str, list[str]]) -> dict[str, int]:
    """Layer of each issue: 0 without blocking dependencies inside the set, else one more than the
    deepest one. Issues on a cycle (never resolved) get layer 0, as in the original."""
    ids = sorted(ids)
    members = set(ids)
    deps = {i: sorted(d for d in set(depends_on.get(i, ())) if d in members and d != i) for i in ids}
    waiting = {i: len(deps[i]) for i in ids}
    dependents: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for d in deps[i]:
            dependents[d].append(i)
    layer: dict[str, int] = {}
    queue = [i for i in ids if waiting[i] == 0]
    for i in queue:
        layer[i] = 0
    head = 0
    while head < len(queue):
        node = queue[head]
        head += 1
        for nxt in dependents[node]:
            layer[nxt] = max(layer.get(nxt, 0), layer[node] + 1)
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                queue.append(nxt)
    for i in ids:
        if waiting[i] > 0:
            layer[i] = 0
    return layer


def weak_components(ids: list[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected groups ignoring direction; each sorted, in order of their smallest ID."""
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                if rb < ra:
                    ra, rb = rb, ra
                parent[rb] = ra
    groups: dict[str, list[str]] = {}
    for i in sorted(ids):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])
