"""分类分级: what kind of data each item is (recognizers), how much harm its leak would do
(grading), and how it is masked wherever data leaves the zone (masking, policies)."""
