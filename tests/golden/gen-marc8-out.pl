#!/usr/bin/perl
# tests/golden/gen-marc8-out.pl: UTF-8 -> MARC-8 goldens from MARC::Charset.
#
# Reads tests/data/marc8/to-marc8-strings.txt (one UTF-8 string a line) and
# writes tests/data/marc8/to-marc8-golden.txt: a header naming the tool and
# version, then "hex(UTF-8) TAB hex(MARC-8)" per string, as
# MARC::Charset::utf8_to_marc8 converts it.  Run from the top source
# directory: perl tests/golden/gen-marc8-out.pl
use strict;
use warnings;
use Encode qw(decode);
use MARC::Charset qw(utf8_to_marc8);

my $in = "tests/data/marc8/to-marc8-strings.txt";
my $out = "tests/data/marc8/to-marc8-golden.txt";
open(my $fh, "<:raw", $in) or die "$in: $!";
open(my $oh, ">:raw", $out) or die "$out: $!";
print $oh "# MARC::Charset $MARC::Charset::VERSION utf8_to_marc8, perl $^V\n";
while (my $line = <$fh>) {
	chomp $line;
	next if $line eq "";
	my $m8 = utf8_to_marc8(decode("UTF-8", $line));
	die "no conversion for: $line" unless defined $m8;
	printf $oh "%s\t%s\n", unpack("H*", $line), unpack("H*", $m8);
}
close($oh) or die "$out: $!";
