namespace Marketplace.Packages;

/// <summary>
/// The SPDX license expression grammar (SPDX spec, annex D), checked for shape, not against the license list:
/// <c>expr := term ((AND|OR) term)*</c>, <c>term := '(' expr ')' | id ['+'] [WITH id]</c>.
/// </summary>
public static class Spdx
{
    public static bool IsExpression(string text)
    {
        var tokens = Tokenize(text);
        if (tokens is null || tokens.Count == 0) return false;
        var position = 0;
        return Expression(tokens, ref position, depth: 0) && position == tokens.Count;
    }

    private static List<string>? Tokenize(string text)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == ' ') { i++; continue; }
            if (c is '(' or ')') { tokens.Add(c.ToString()); i++; continue; }
            var start = i;
            while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '.' or '-' or '+' or ':')) i++;
            if (i == start) return null;
            tokens.Add(text[start..i]);
        }
        return tokens;
    }

    private static bool Expression(List<string> t, ref int p, int depth)
    {
        if (depth > 16 || !Term(t, ref p, depth)) return false;
        while (p < t.Count && t[p] is "AND" or "OR")
        {
            p++;
            if (!Term(t, ref p, depth)) return false;
        }
        return true;
    }

    private static bool Term(List<string> t, ref int p, int depth)
    {
        if (p >= t.Count) return false;
        if (t[p] == "(")
        {
            p++;
            if (!Expression(t, ref p, depth + 1) || p >= t.Count || t[p] != ")") return false;
            p++;
            return true;
        }
        if (!IsId(t[p])) return false;
        p++;
        if (p < t.Count && t[p] == "WITH")
        {
            p++;
            if (p >= t.Count || !IsId(t[p])) return false;
            p++;
        }
        return true;
    }

    private static bool IsId(string token) =>
        token is not ("AND" or "OR" or "WITH" or "(" or ")") && char.IsAsciiLetterOrDigit(token[0])
        && token.IndexOf('+') is var plus && (plus == -1 || plus == token.Length - 1);
}
