#!/usr/bin/perl
# tests/golden/gen-golden.pl: write the oracle .mrk for MARC-8 test inputs.
#
#	perl tests/golden/gen-golden.pl tests/data/marc8/NAME.mrc ...
#
# For each input writes NAME.mrk next to it: every record read with
# MARC::Record (MARC::File::USMARC), every control field and subfield
# converted with MARC::Charset::marc8_to_utf8 and then Unicode::Normalize::NFC,
# printed in the mrk line format that marcd's writer uses:
#
#	=LDR  leader, leader/09 set to 'a', spaces as '\'
#	=001  control field data, spaces as '\'
#	=245  ind1 ind2 (space as '\'), then $code data for each subfield
#
# In subfield data '$' '{' '}' '\' are written {dollar} {lcub} {rcub} {bsol};
# control characters (below 0x20, and 0x7F) are {XX} everywhere.  A record
# ends with its last line and an empty line.  Any MARC::Charset warning (an
# unmapped byte, which it would drop where marcd writes U+FFFD) is fatal, so
# every golden file is the oracle's unaltered output.
use strict;
use warnings;

use Encode qw(encode);
use MARC::Charset qw(marc8_to_utf8);
use MARC::File::USMARC;
use MARC::Record;
use Unicode::Normalize qw(NFC);

my $warned = 0;
$SIG{__WARN__} = sub { $warned++; print STDERR "warning: $_[0]"; };

# Control characters as {XX}, for every part of a line.
sub esc_ctl {
	my ($s) = @_;
	$s =~ s/([\x00-\x1f\x7f])/sprintf("{%02X}", ord($1))/ge;
	return $s;
}

# Leader and control fields: spaces shown as backslashes.
sub esc_fixed {
	my ($s) = @_;
	$s = esc_ctl($s);
	$s =~ tr/ /\\/;
	return $s;
}

# Subfield data: the mrk metacharacters spelled out.
sub esc_sub {
	my ($s) = @_;
	my %m = ('$' => '{dollar}', '{' => '{lcub}', '}' => '{rcub}',
	    '\\' => '{bsol}');
	$s =~ s/([\$\{\}\\])/$m{$1}/g;
	return esc_ctl($s);
}

# MARC-8 bytes to NFC characters, as the oracle sees them.
sub conv {
	my ($bytes) = @_;
	return NFC(marc8_to_utf8($bytes, 1));
}

for my $in (@ARGV) {
	(my $outname = $in) =~ s/\.[^.\/]*$//;
	$outname .= '.mrk';
	my $file = MARC::File::USMARC->in($in) or die "$in: cannot open\n";
	my $out = '';
	my $n = 0;
	while (my $rec = $file->next()) {
		$n++;
		my $ldr = $rec->leader();
		substr($ldr, 9, 1) = 'a';
		$out .= '=LDR  ' . esc_fixed($ldr) . "\n";
		for my $f ($rec->fields()) {
			if ($f->is_control_field()) {
				$out .= '=' . $f->tag() . '  ' .
				    esc_fixed(conv($f->data())) . "\n";
				next;
			}
			my $line = '=' . $f->tag() . '  ' .
			    esc_fixed($f->indicator(1)) .
			    esc_fixed($f->indicator(2));
			for my $sf ($f->subfields()) {
				my ($code, $data) = @$sf;
				next if !defined $code || $code eq '';
				$line .= '$' . esc_ctl($code) .
				    esc_sub(conv($data));
			}
			$out .= $line . "\n";
		}
		$out .= "\n";
	}
	$file->close();
	die "$in: MARC::Charset warned $warned time(s)\n" if $warned;
	open(my $fh, '>:raw', $outname) or die "$outname: $!\n";
	print $fh encode('UTF-8', $out);
	close($fh) or die "$outname: $!\n";
	printf STDERR "%s: %d records\n", $outname, $n;
}
