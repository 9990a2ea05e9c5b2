namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Builds the product of two explored automata (the intersection of their languages) at once, then prunes the pairs
/// from which no accepted string remains and computes each pair's distance to acceptance.
/// </summary>
internal static class ProductBuilder
{
    public static List<(bool Accepting, int MinRemaining, int[] Lows, int[] Targets)> Build(PatternAutomaton a, PatternAutomaton b)
    {
        var ids = new Dictionary<(int, int), int> { [(a.Start, b.Start)] = 0 };
        var pairs = new List<(int A, int B)> { (a.Start, b.Start) };
        var tables = new List<(int[] Lows, int[] Targets)>();
        for (var s = 0; s < pairs.Count; s++)
        {
            tables.Add(Merge(a.TableOf(pairs[s].A), b.TableOf(pairs[s].B), (p, q) =>
            {
                if (!ids.TryGetValue((p, q), out var id))
                {
                    if (pairs.Count >= PatternAutomaton.MaxStates)
                    {
                        throw new ConstraintException(
                            "pattern", $"The constraint is too complex: its automaton exceeds {PatternAutomaton.MaxStates} states.");
                    }

                    ids[(p, q)] = id = pairs.Count;
                    pairs.Add((p, q));
                }

                return id;
            }));
        }

        var accepting = pairs.Select(p => a.IsAccepting(p.A) && b.IsAccepting(p.B)).ToArray();
        var distance = Distances(tables, accepting);
        if (distance[0] == int.MaxValue)
        {
            throw new ConstraintException("pattern", "No string satisfies both constraints on this string.");
        }

        var result = new List<(bool, int, int[], int[])>(pairs.Count);
        for (var s = 0; s < pairs.Count; s++)
        {
            var (lows, targets) = tables[s];
            var live = targets.Select(t => t >= 0 && distance[t] != int.MaxValue ? t : -1).ToArray();
            var (mergedLows, mergedTargets) = Compact(lows, live);
            result.Add((accepting[s], distance[s], mergedLows, mergedTargets));
        }

        return result;
    }

    // Walks both range tables together; a cell leads somewhere only where both do.
    private static (int[] Lows, int[] Targets) Merge((int[] Lows, int[] Targets) x, (int[] Lows, int[] Targets) y, Func<int, int, int> pairId)
    {
        var lows = new List<int>();
        var targets = new List<int>();
        int i = 0, j = 0, low = 0;
        while (true)
        {
            var target = x.Targets[i] < 0 || y.Targets[j] < 0 ? -1 : pairId(x.Targets[i], y.Targets[j]);
            if (targets.Count == 0 || targets[^1] != target)
            {
                lows.Add(low);
                targets.Add(target);
            }

            var nextX = i + 1 < x.Lows.Length ? x.Lows[i + 1] : int.MaxValue;
            var nextY = j + 1 < y.Lows.Length ? y.Lows[j + 1] : int.MaxValue;
            low = Math.Min(nextX, nextY);
            if (low == int.MaxValue)
            {
                return ([.. lows], [.. targets]);
            }

            i += nextX == low ? 1 : 0;
            j += nextY == low ? 1 : 0;
        }
    }

    private static int[] Distances(List<(int[] Lows, int[] Targets)> tables, bool[] accepting)
    {
        var incoming = new List<int>[tables.Count];
        for (var s = 0; s < tables.Count; s++)
        {
            incoming[s] = [];
        }

        for (var s = 0; s < tables.Count; s++)
        {
            foreach (var t in tables[s].Targets.Where(t => t >= 0).Distinct())
            {
                incoming[t].Add(s);
            }
        }

        var distance = new int[tables.Count];
        Array.Fill(distance, int.MaxValue);
        var queue = new Queue<int>();
        for (var s = 0; s < tables.Count; s++)
        {
            if (accepting[s])
            {
                distance[s] = 0;
                queue.Enqueue(s);
            }
        }

        while (queue.TryDequeue(out var s))
        {
            foreach (var from in incoming[s].Where(f => distance[f] == int.MaxValue))
            {
                distance[from] = distance[s] + 1;
                queue.Enqueue(from);
            }
        }

        return distance;
    }

    private static (int[] Lows, int[] Targets) Compact(int[] lows, int[] targets)
    {
        var outLows = new List<int>();
        var outTargets = new List<int>();
        for (var k = 0; k < lows.Length; k++)
        {
            if (outTargets.Count == 0 || outTargets[^1] != targets[k])
            {
                outLows.Add(lows[k]);
                outTargets.Add(targets[k]);
            }
        }

        return ([.. outLows], [.. outTargets]);
    }
}
