namespace ModelKit.Tests;

/// <summary>
/// Renders a line of lower-case text with a small built-in bitmap font (5×9 cells: ascender, x-height and
/// descender rows) into a grey image, black on white, so the tests have a real text image without fonts or files.
/// </summary>
public static class TextLineRenderer
{
    private static readonly Dictionary<char, string[]> Glyphs = new()
    {
        ['a'] = [".....", ".....", ".###.", "....#", ".####", "#...#", ".####", ".....", "....."],
        ['d'] = ["....#", "....#", ".####", "#...#", "#...#", "#...#", ".####", ".....", "....."],
        ['e'] = [".....", ".....", ".###.", "#...#", "#####", "#....", ".###.", ".....", "....."],
        ['g'] = [".....", ".....", ".####", "#...#", "#...#", ".####", "....#", "#...#", ".###."],
        ['h'] = ["#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#", ".....", "....."],
        ['k'] = ["#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#.", ".....", "....."],
        ['l'] = [".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###.", ".....", "....."],
        ['o'] = [".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###.", ".....", "....."],
        ['p'] = [".....", ".....", "####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
        ['q'] = [".....", ".....", ".####", "#...#", "#...#", ".####", "....#", "....#", "....#"],
        ['s'] = [".....", ".....", ".####", "#....", ".###.", "....#", "####.", ".....", "....."],
        ['t'] = ["..#..", "..#..", "#####", "..#..", "..#..", "..#..", "...##", ".....", "....."],
        ['y'] = [".....", ".....", "#...#", "#...#", "#...#", ".####", "....#", "#...#", ".###."],
        [' '] = [".....", ".....", ".....", ".....", ".....", ".....", ".....", ".....", "....."],
    };

    /// <summary>Renders <paramref name="text"/> into a <paramref name="width"/>×<paramref name="height"/> image of values 0..255 (row-major).</summary>
    public static byte[] Render(string text, int width, int height, int scale)
    {
        var image = new byte[width * height];
        Array.Fill(image, (byte)255);
        var x0 = scale * 2;
        var y0 = (height - (9 * scale)) / 2;
        foreach (var c in text)
        {
            var glyph = Glyphs[c];
            for (var row = 0; row < 9; row++)
            {
                for (var col = 0; col < 5; col++)
                {
                    if (glyph[row][col] != '#') continue;
                    for (var dy = 0; dy < scale; dy++)
                    {
                        for (var dx = 0; dx < scale; dx++)
                        {
                            var x = x0 + (col * scale) + dx;
                            var y = y0 + (row * scale) + dy;
                            if (x < width && y >= 0 && y < height) image[(y * width) + x] = 20;
                        }
                    }
                }
            }

            x0 += 6 * scale;
        }

        return image;
    }

    /// <summary>The image turned by 180°.</summary>
    public static byte[] Rotate180(byte[] image)
    {
        var rotated = (byte[])image.Clone();
        Array.Reverse(rotated);
        return rotated;
    }
}
